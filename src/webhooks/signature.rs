//! HubSpot's request signatures, as a receiver checks them.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// `X-HubSpot-Signature-v3`: base64 of HMAC-SHA256, keyed by the app's client secret, over
/// method + URI + body + timestamp (the `X-HubSpot-Request-Timestamp` value, epoch
/// milliseconds). HubSpot signs the URI with its percent-escapes decoded, so this does too.
pub fn v3(client_secret: &str, method: &str, uri: &str, body: &[u8], timestamp: i64) -> String {
    let decoded = percent_encoding::percent_decode_str(uri).decode_utf8_lossy();
    // An HMAC takes a key of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(client_secret.as_bytes())
        .expect("HMAC accepts every key length");
    mac.update(method.as_bytes());
    mac.update(decoded.as_bytes());
    mac.update(body);
    mac.update(timestamp.to_string().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `X-HubSpot-Signature` with `X-HubSpot-Signature-Version: v1`, which HubSpot still sends
/// on webhooks for older receivers: hex SHA-256 of client secret + body.
pub fn v1(client_secret: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(client_secret.as_bytes());
    hash.update(body);
    hash.finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_covers_every_part() {
        let base = v3("secret", "POST", "http://h/x", b"[]", 1);
        assert_eq!(base.len(), 44, "base64 of 32 bytes");
        assert_ne!(base, v3("other", "POST", "http://h/x", b"[]", 1));
        assert_ne!(base, v3("secret", "GET", "http://h/x", b"[]", 1));
        assert_ne!(base, v3("secret", "POST", "http://h/y", b"[]", 1));
        assert_ne!(base, v3("secret", "POST", "http://h/x", b"[ ]", 1));
        assert_ne!(base, v3("secret", "POST", "http://h/x", b"[]", 2));
        // Escapes are decoded before signing.
        assert_eq!(
            v3("secret", "POST", "http://h/a%20b", b"", 1),
            v3("secret", "POST", "http://h/a b", b"", 1)
        );
    }

    #[test]
    fn v1_is_hex_sha256_of_secret_and_body() {
        // sha256("ab") computed independently.
        assert_eq!(
            v1("a", b"b"),
            "fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603"
        );
    }
}
