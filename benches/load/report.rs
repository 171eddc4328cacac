//! The load bench's report: the markdown table of the medians of each object type, workload
//! and server, with the ratio to the ceiling measured in the same run.

use crate::{Measured, Options, Run, CONCURRENCY, SERVER_CPU, WORKLOADS, WRK_CPU};

pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

/// `1234567.8` as `1,234,568`.
pub fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if value < -0.5 {
        out.insert(0, '-');
    }
    out
}

pub fn print_table(measured: &[Measured], options: &Options, pinned: bool) {
    let placement = if pinned {
        format!("servers on core {SERVER_CPU}, wrk on core {WRK_CPU} with 1 thread")
    } else {
        "nothing pinned (no taskset)".to_owned()
    };
    let when = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default();
    let seeded = match options.object_types.as_slice() {
        [one] => format!("{} seeded {one}", options.seed_calls),
        _ => format!("{} seeded objects of each type", options.seed_calls),
    };
    println!(
        "\n### wrk, medians of {} x {} s at concurrency {CONCURRENCY}, {seeded}, {placement}, {when}\n",
        options.reps, options.seconds
    );
    println!(
        "| object type | workload | server | req/s | unit/s | p50 ms | p99 ms | non-2xx | socket errors | ratio to ceiling | req/s of each rep |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for &object_type in &options.object_types {
        let of_type: Vec<&Measured> = measured
            .iter()
            .filter(|m| m.object_type == object_type)
            .collect();
        let median_rps = |label: &str, w: usize| {
            of_type
                .iter()
                .find(|m| m.label == label && !m.runs[w].is_empty())
                .map(|m| median(m.runs[w].iter().map(|r| r.rps).collect()))
        };
        for (w, workload) in WORKLOADS.iter().enumerate() {
            for target in of_type.iter().filter(|m| !m.runs[w].is_empty()) {
                let runs = &target.runs[w];
                let of = |f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
                let rps = of(|r| r.rps);
                let ratio = if target.label == "hubcalls" {
                    let ceiling = if workload.collection {
                        "ceiling-r100"
                    } else {
                        "ceiling"
                    };
                    median_rps(ceiling, w).map_or("–".to_owned(), |c| {
                        format!("{:.3} (vs {ceiling})", rps / c)
                    })
                } else {
                    String::new()
                };
                let reps: Vec<String> = runs.iter().map(|r| thousands(r.rps)).collect();
                println!(
                    "| {object_type} | {} | {} | {} | {} {}/s | {:.2} | {:.2} | {} | {} | {ratio} | {} |",
                    workload.name,
                    target.label,
                    thousands(rps),
                    thousands(of(|r| r.unit_per_s)),
                    workload.unit_name.unwrap_or(object_type),
                    of(|r| r.p50_ms),
                    of(|r| r.p99_ms),
                    runs.iter().map(|r| r.non_2xx).sum::<u64>(),
                    runs.iter().map(|r| r.socket_errors).sum::<u64>(),
                    reps.join(", "),
                );
            }
        }
    }
    println!(
        "\nnon-2xx and socket errors: totals over the repetitions (a run with any is not clean: \
         its unit/s counts 2xx responses only, and the bench exits with status 1). Ratio: the \
         server's median req/s over the ceiling's, measured in the same run on the same type \
         (the ceilings answer every type with the call body)."
    );
}
