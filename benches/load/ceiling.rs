//! The load bench's ceiling: a minimal hyper server answering every route with fixed
//! bodies (one call, or 100 per collection), like `../shared/perf/ceiling`, so hubcalls'
//! rates read as ratios to what the machine allows in the same run.

use std::sync::Arc;

/// The ceiling's call: a HubSpot call object of 673 bytes, the size of `../shared/perf`'s.
const CEILING_CALL: &str = concat!(
    r#"{"id":"75123456789","properties":{"createdate":"2024-05-14T09:31:12.345Z","#,
    r#""hs_call_body":"Asked about onboarding blockers and the contract redlines. The customers want a second demo of the reporting module for finance next week; action items logged, and a recap was sent with the quote and the SLAs attached.","#,
    r#""hs_call_direction":"OUTBOUND","hs_call_duration":"384000","hs_call_status":"COMPLETED","#,
    r#""hs_call_title":"Renewal discussion with ACME procurement","#,
    r#""hs_lastmodifieddate":"2024-05-14T09:31:12.345Z","hs_object_id":"75123456789","#,
    r#""hs_timestamp":"2024-05-14T09:00:00.000Z"},"#,
    r#""createdAt":"2024-05-14T09:31:12.345Z","updatedAt":"2024-05-14T09:31:12.345Z","archived":false}"#
);

/// Pages a list scan of the ceiling has before its paging ends.
const CEILING_LIST_PAGES: usize = 100;

/// The ceiling's answers, built once.
struct CeilingBodies {
    call: axum::body::Bytes,
    batch: axum::body::Bytes,
    search: axum::body::Bytes,
    /// Page `p` of a list scan (`after=p`); the last one has no paging.
    list: Vec<axum::body::Bytes>,
}

impl CeilingBodies {
    fn new(per_collection: usize) -> Self {
        let results = vec![CEILING_CALL; per_collection].join(",");
        let batch = format!(
            r#"{{"status":"COMPLETE","results":[{results}],"startedAt":"2024-05-14T09:31:12.300Z","completedAt":"2024-05-14T09:31:12.345Z"}}"#
        );
        let search = format!(
            r#"{{"total":{},"results":[{results}]}}"#,
            per_collection * CEILING_LIST_PAGES
        );
        let list = (1..=CEILING_LIST_PAGES)
            .map(|next| {
                if next < CEILING_LIST_PAGES {
                    format!(
                        r#"{{"results":[{results}],"paging":{{"next":{{"after":"{next}","link":"?after={next}"}}}}}}"#
                    )
                } else {
                    format!(r#"{{"results":[{results}]}}"#)
                }
                .into()
            })
            .collect();
        Self {
            call: CEILING_CALL.into(),
            batch: batch.into(),
            search: search.into(),
            list,
        }
    }
}

/// The ceiling's answer to one request, chosen by method and path alone (no JSON work), after
/// reading the request's body whole as a real server must.
async fn ceiling_answer(
    bodies: Arc<CeilingBodies>,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<axum::body::Body>, std::convert::Infallible> {
    use hyper::{Method, StatusCode};
    let (parts, body) = request.into_parts();
    let received = axum::body::to_bytes(axum::body::Body::new(body), usize::MAX).await;
    std::hint::black_box(received.map(|b| b.len()).unwrap_or(0));
    let path = parts.uri.path();
    let (status, payload) = match parts.method {
        Method::DELETE => (StatusCode::NO_CONTENT, axum::body::Bytes::new()),
        Method::POST if path.ends_with("/search") => (StatusCode::OK, bodies.search.clone()),
        Method::POST if path.ends_with("/batch/create") => {
            (StatusCode::CREATED, bodies.batch.clone())
        }
        Method::POST if path.contains("/batch/") => (StatusCode::OK, bodies.batch.clone()),
        Method::POST => (StatusCode::CREATED, bodies.call.clone()),
        // A list: `/crm/v3/objects/{type}`, of any type.
        Method::GET if path.rsplit('/').nth(1) == Some("objects") => {
            let page = parts
                .uri
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("after=")))
                .and_then(|after| after.parse::<usize>().ok())
                .unwrap_or(0)
                .min(bodies.list.len() - 1);
            (StatusCode::OK, bodies.list[page].clone())
        }
        _ => (StatusCode::OK, bodies.call.clone()),
    };
    let has_body = status != StatusCode::NO_CONTENT;
    let mut response = hyper::Response::new(axum::body::Body::from(payload));
    *response.status_mut() = status;
    if has_body {
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json;charset=utf-8"),
        );
    }
    Ok(response)
}

/// A minimal hyper server answering every object route with fixed bodies (calls, whatever the
/// type in the path), `per_collection` calls in batch, search and list answers: the machine's ceiling for these workloads, as
/// `../shared/perf/ceiling` (`CEILING_RESULTS` 1 and 100). Runs when this binary is started
/// with `--serve-ceiling N`.
pub fn serve_ceiling(per_collection: usize) {
    let bodies = Arc::new(CeilingBodies::new(per_collection.max(1)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!(
            "ceiling ({per_collection} per collection) listening on http://{}",
            listener.local_addr().expect("address")
        );
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let bodies = Arc::clone(&bodies);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    ceiling_answer(Arc::clone(&bodies), request)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
