use titan_webhooks::{Scheme, Secret, Signer};

fn main() {
    let secret = Secret::generate(); // 256 bits from the OS CSPRNG
    let signer = Signer::new(Scheme::standard_webhooks(), secret);

    let body = br#"{"type":"invoice.paid"}"#;
    // webhook-id, webhook-timestamp and webhook-signature
    let headers: http::HeaderMap = signer.sign(body);
    assert!(headers.contains_key("webhook-signature"));
}
