//! The OCSP responder: a relying party asks about a client certificate by POST or GET and
//! gets an answer signed by the platform CA that says good, then revoked once it is, and
//! unknown for a serial never issued here; a request that is not OCSP gets malformedRequest.

use base64::Engine;
use der::{Decode, DecodePem, Encode};
use p256::ecdsa::signature::Verifier;
use reqwest::StatusCode;
use testkit::{TestApp, TestResult, for_each_backend};
use x509_cert::Certificate;
use x509_cert::serial_number::SerialNumber;
use x509_ocsp::builder::OcspRequestBuilder;
use x509_ocsp::ext::Nonce;
use x509_ocsp::{
    BasicOcspResponse, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
};

use crate::gateway::{CLIENT, Failure, setup, upstream};

const OCSP: &str = "/api/v1/exchange/ocsp";

fn request(ca: &Certificate, serial: SerialNumber, nonce: &[u8]) -> Result<Vec<u8>, Failure> {
    let request: OcspRequest = OcspRequestBuilder::default()
        .with_request(Request::from_issuer::<sha1::Sha1>(ca, serial)?)
        .with_extension(Nonce::new(nonce.to_vec())?)?
        .build();
    Ok(request.to_der()?)
}

/// Posts (or GETs, base64 in the URL) a request and checks what a relying party must: the
/// status, the CA's signature over the response data, and the nonce sent back.
async fn ask(
    app: &TestApp,
    ca: &Certificate,
    der: Vec<u8>,
    by_get: bool,
) -> Result<(OcspResponseStatus, Option<BasicOcspResponse>), Failure> {
    let response = if by_get {
        let encoded = base64::engine::general_purpose::STANDARD.encode(&der);
        app.client
            .get(app.url(&format!("{OCSP}/{encoded}")))
            .send()
            .await?
    } else {
        app.client
            .post(app.url(OCSP))
            .header("content-type", "application/ocsp-request")
            .body(der)
            .send()
            .await?
    };
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/ocsp-response")
    );
    let answer = OcspResponse::from_der(&response.bytes().await?)?;
    let Some(bytes) = answer.response_bytes else {
        return Ok((answer.response_status, None));
    };
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())?;
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(
        ca.tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes(),
    )?;
    let signature = p256::ecdsa::DerSignature::from_bytes(
        basic
            .signature
            .as_bytes()
            .ok_or("the signature has unused bits")?,
    )?;
    key.verify(&basic.tbs_response_data.to_der()?, &signature)?;
    Ok((answer.response_status, Some(basic)))
}

fn status_of(basic: &Option<BasicOcspResponse>) -> Option<&CertStatus> {
    basic
        .as_ref()
        .and_then(|b| b.tbs_response_data.responses.first())
        .map(|single| &single.cert_status)
}

#[tokio::test]
async fn relying_parties_learn_good_revoked_and_unknown_from_signed_ocsp_answers() -> TestResult {
    for_each_backend(|app| async move {
        let upstream = upstream().await?;
        setup(&app, &upstream).await?;
        let exchange = &app.state.exchange;
        let issued = exchange
            .issue_certificate(CLIENT, exchange::SubjectKey::Generate, 30, "operator:test")
            .await?;
        let ca = Certificate::from_der(exchange.ca()?.certificate_der())?;
        let certificate = Certificate::from_pem(issued.certificate_pem.as_bytes())?;
        let serial = certificate.tbs_certificate.serial_number.clone();

        let (status, basic) =
            ask(&app, &ca, request(&ca, serial.clone(), b"first")?, false).await?;
        assert_eq!(status, OcspResponseStatus::Successful);
        assert_eq!(status_of(&basic), Some(&CertStatus::good()));
        let nonce = basic.as_ref().and_then(BasicOcspResponse::nonce);
        assert_eq!(
            nonce,
            Some(Nonce::new(b"first".to_vec())?),
            "the nonce comes back"
        );
        let single = basic
            .as_ref()
            .and_then(|b| b.tbs_response_data.responses.first())
            .ok_or("no single response")?;
        assert!(
            single.next_update.is_some(),
            "answers say how long they hold"
        );

        exchange
            .catalog
            .revoke_certificate(&issued.serial, "operator:test")
            .await?;
        let (_, basic) = ask(&app, &ca, request(&ca, serial, b"second")?, true).await?;
        assert!(
            matches!(status_of(&basic), Some(CertStatus::Revoked(_))),
            "{:?}",
            status_of(&basic)
        );

        let never = SerialNumber::new(&[0x42; 16])?;
        let (_, basic) = ask(&app, &ca, request(&ca, never, b"third")?, false).await?;
        assert_eq!(status_of(&basic), Some(&CertStatus::unknown()));

        let (status, basic) = ask(&app, &ca, b"not an OCSP request".to_vec(), false).await?;
        assert_eq!(status, OcspResponseStatus::MalformedRequest);
        assert!(basic.is_none());
        app.stop().await?;
        Ok(())
    })
    .await
}
