//! `verify_signature`, `Verifier` and `Verified`.

use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyString, PyTuple};
use titan_webhooks::{RawHeaders, Scheme, SecretEncoding, VerifyError};

use crate::args;
use crate::body::{Body, hash_body};
use crate::errors::{self, type_name};

/// Checks an Eventium delivery: ``True`` if it is authentic and fresh.
///
/// ``secret`` is the endpoint's secret as Eventium shows it (``str``), or
/// its bytes. ``signature_header`` is the value of the
/// ``X-TitanVX-Signature`` header, ``t=<unix>,v1=<hex>``; ``None`` or an
/// empty string (no header) gives ``False``. ``body`` is the raw request
/// body as ``bytes``; a ``str`` is encoded as UTF-8.
///
/// Returns ``False`` when no ``v1`` signature matches the secret, when the
/// header is missing or malformed, or when its timestamp is more than
/// ``tolerance`` seconds (an ``int`` or a ``datetime.timedelta``; 300 by
/// default) in the past or in the future. Every ``v1`` entry is checked, so
/// deliveries signed during a secret rotation pass. Digests are compared in
/// constant time.
///
/// Raises ``TypeError`` or ``ValueError`` for a call that can never be
/// right: a secret that is empty or not ``str``/``bytes``, a body of
/// another type, a negative tolerance. Use ``Verifier`` to learn why a
/// delivery was refused.
///
/// >>> from titan_webhooks import Signer, verify_signature
/// >>> body = b'{"type":"quota.threshold.reached"}'
/// >>> header = Signer("eventium", "YOUR_ENDPOINT_SECRET").sign(body)["x-titanvx-signature"]
/// >>> verify_signature("YOUR_ENDPOINT_SECRET", header, body)
/// True
/// >>> verify_signature("YOUR_ENDPOINT_SECRET", header, body.decode())
/// True
/// >>> verify_signature("YOUR_ENDPOINT_SECRET", header, b'{"type":"billing.plan.changed"}')
/// False
/// >>> verify_signature("another-secret", header, body)
/// False
/// >>> verify_signature("YOUR_ENDPOINT_SECRET", "t=1700000000,v1=00", body)
/// False
/// >>> verify_signature("YOUR_ENDPOINT_SECRET", header, 42)
/// Traceback (most recent call last):
///     ...
/// TypeError: body must be bytes or str (the raw request body), not int
#[pyfunction]
#[pyo3(
    signature = (secret, signature_header, body, *, tolerance = None),
    text_signature = "(secret, signature_header, body, *, tolerance=300)"
)]
pub(crate) fn verify_signature(
    py: Python<'_>,
    secret: &Bound<'_, PyAny>,
    signature_header: &Bound<'_, PyAny>,
    body: &Bound<'_, PyAny>,
    tolerance: Option<&Bound<'_, PyAny>>,
) -> PyResult<bool> {
    let secret = args::secret(SecretEncoding::Utf8, secret)?;
    let header = if signature_header.is_none() {
        None
    } else if let Ok(text) = signature_header.cast::<PyString>() {
        Some(text.to_string_lossy().into_owned())
    } else if let Ok(bytes) = signature_header.cast::<PyBytes>() {
        Some(String::from_utf8_lossy(bytes.as_bytes()).into_owned())
    } else {
        return Err(PyTypeError::new_err(format!(
            "signature_header must be str or bytes (or None when the header is missing), not {}",
            type_name(signature_header)
        )));
    };
    let body = Body::extract(body)?;
    let tolerance = match tolerance {
        Some(value) => args::seconds("tolerance", value)?,
        None => titan_webhooks::DEFAULT_TOLERANCE.as_secs(),
    };
    let Some(header) = header else {
        return Ok(false);
    };
    let verifier = titan_webhooks::Verifier::new(Scheme::eventium(), secret)
        .with_tolerance(Duration::from_secs(tolerance));
    let bytes = body.as_bytes();
    Ok(hash_body(py, bytes.len(), || {
        verifier.verify_raw(RawHeaders::new(&header), bytes).is_ok()
    }))
}

/// Verifies deliveries of one scheme, with one or more secrets.
///
/// ``scheme`` is one of ``titan``, ``titanx``, ``eventium``, ``github``,
/// ``stripe`` and ``standard_webhooks`` (see ``titan_webhooks.SCHEMES``).
/// ``secret`` is a secret, or a list of them while a secret is rotated:
/// a ``str`` is read the way the scheme's provider writes it (the
/// ``whsec_<base64>`` text for ``standard_webhooks``, the text itself for
/// the others, Stripe's ``whsec_`` prefix included), and ``bytes`` are the
/// key itself.
///
/// For schemes that sign a timestamp (Eventium, Stripe, Standard
/// Webhooks), a delivery more than ``tolerance`` seconds old or ahead is
/// refused. ``past_tolerance`` and ``future_tolerance`` set each side
/// apart. Each is an ``int`` of seconds or a ``datetime.timedelta``.
///
/// Build one at start-up and share it: the secrets' key schedules are
/// computed here, and ``verify`` is thread-safe. A body of 2 KiB or more is
/// hashed with the GIL released. Neither the verifier's ``repr`` nor any
/// error shows a secret.
///
/// >>> from titan_webhooks import Signer, Verifier
/// >>> verifier = Verifier("stripe", ["whsec_old", "whsec_new"], future_tolerance=30)
/// >>> verifier
/// Verifier(scheme='stripe', secrets=2, past_tolerance=300, future_tolerance=30)
/// >>> body = b'{"id":"evt_1","type":"invoice.paid"}'
/// >>> headers = Signer("stripe", "whsec_new").sign(body, timestamp=1700000000)
/// >>> headers
/// {'stripe-signature': 't=1700000000,v1=06c3705d601923888df75d46fc06830f535f3da6966a41a12ef2a89a3548282e'}
/// >>> verified = verifier.verify(headers, body, now=1700000060)
/// >>> verified.timestamp, verified.secret_index
/// (1700000000, 1)
#[pyclass(frozen, module = "titan_webhooks", name = "Verifier")]
pub(crate) struct Verifier {
    inner: titan_webhooks::Verifier,
    scheme: &'static str,
    secrets: usize,
    past_tolerance: u64,
    future_tolerance: u64,
}

/// `json.loads`, imported once.
static JSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

#[pymethods]
impl Verifier {
    #[new]
    #[pyo3(
        signature = (scheme, secret, *, tolerance = None, past_tolerance = None, future_tolerance = None),
        text_signature = "(scheme, secret, *, tolerance=300, past_tolerance=None, future_tolerance=None)"
    )]
    fn new(
        scheme: &Bound<'_, PyAny>,
        secret: &Bound<'_, PyAny>,
        tolerance: Option<&Bound<'_, PyAny>>,
        past_tolerance: Option<&Bound<'_, PyAny>>,
        future_tolerance: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let (scheme, name) = args::scheme(scheme)?;
        let secrets = args::secrets(scheme.secret_encoding(), secret)?;
        let both = match tolerance {
            Some(value) => args::seconds("tolerance", value)?,
            None => titan_webhooks::DEFAULT_TOLERANCE.as_secs(),
        };
        let past = match past_tolerance {
            Some(value) => args::seconds("past_tolerance", value)?,
            None => both,
        };
        let future = match future_tolerance {
            Some(value) => args::seconds("future_tolerance", value)?,
            None => both,
        };
        let count = secrets.len();
        let mut secrets = secrets.into_iter();
        let Some(first) = secrets.next() else {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "at least one secret is needed",
            ));
        };
        let inner = secrets
            .fold(
                titan_webhooks::Verifier::new(scheme, first),
                |verifier, secret| verifier.with_secret(secret),
            )
            .with_past_tolerance(Duration::from_secs(past))
            .with_future_tolerance(Duration::from_secs(future));
        Ok(Self {
            inner,
            scheme: name,
            secrets: count,
            past_tolerance: past,
            future_tolerance: future,
        })
    }

    /// Verifies a delivery and returns what was verified, a ``Verified``.
    ///
    /// ``headers`` is the request's headers: a ``dict``, the framework's
    /// headers object (Starlette, Flask, Django) or any other mapping, or a
    /// list of ``(name, value)`` pairs; names are matched ignoring case.
    /// ``body`` is the raw request body as ``bytes`` (a ``str`` is encoded
    /// as UTF-8). ``now`` (unix seconds or a ``datetime``) replaces the
    /// current time, for tests and for deliveries verified after queueing.
    ///
    /// Raises ``WebhookVerificationError`` when the delivery is refused; its
    /// ``code`` says why: ``missing_header``, ``malformed_header``,
    /// ``too_many_signatures``, ``timestamp_out_of_tolerance`` or
    /// ``signature_mismatch``. Raises ``TypeError`` or ``ValueError`` for
    /// arguments that can never be right: headers or a body of another
    /// type, a negative ``now``.
    ///
    /// >>> from titan_webhooks import Signer, Verifier, WebhookVerificationError
    /// >>> secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    /// >>> body = b'{"test": 2432232314}'
    /// >>> headers = {
    /// ...     "Webhook-Id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    /// ...     "Webhook-Timestamp": "1614265330",
    /// ...     "Webhook-Signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    /// ... }
    /// >>> verified = Verifier("standard_webhooks", secret).verify(headers, body, now=1614265330)
    /// >>> verified.id, verified.timestamp
    /// ('msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330)
    /// >>> try:
    /// ...     Verifier("standard_webhooks", secret).verify(headers, body)
    /// ... except WebhookVerificationError as err:
    /// ...     print(err.code)
    /// timestamp_out_of_tolerance
    #[pyo3(signature = (headers, body, *, now = None))]
    fn verify(
        &self,
        py: Python<'_>,
        headers: &Bound<'_, PyAny>,
        body: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Verified> {
        let body = Body::extract(body)?;
        let (verified, id) = self.check(py, headers, &body, now)?;
        Ok(Verified {
            core: verified,
            id,
            payload: None,
        })
    }

    /// Verifies a delivery like ``verify``, then parses its body with
    /// ``json.loads``. Nothing is parsed unless the delivery is authentic.
    /// The parsed body is the result's ``payload``.
    ///
    /// Raises ``WebhookVerificationError`` as ``verify`` does, or with code
    /// ``invalid_payload`` when an authentic body is not JSON. The message
    /// gives the position of a syntax error but never quotes the body.
    ///
    /// >>> from titan_webhooks import Signer, Verifier
    /// >>> signer = Signer("github", "It's a Secret to Everybody")
    /// >>> body = b'{"action":"opened","number":1}'
    /// >>> verifier = Verifier("github", "It's a Secret to Everybody")
    /// >>> verifier.verify_json(signer.sign(body), body).payload
    /// {'action': 'opened', 'number': 1}
    /// >>> verifier.verify_json(signer.sign(b"not json"), b"not json")
    /// Traceback (most recent call last):
    ///     ...
    /// titan_webhooks.WebhookVerificationError: payload is not valid JSON: Expecting value at line 1 column 1
    #[pyo3(signature = (headers, body, *, now = None))]
    fn verify_json(
        &self,
        py: Python<'_>,
        headers: &Bound<'_, PyAny>,
        body: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Verified> {
        let body = Body::extract(body)?;
        let (verified, id) = self.check(py, headers, &body, now)?;
        let loads = JSON_LOADS.import(py, "json", "loads")?;
        let payload = loads
            .call1((body.to_object(py),))
            .map_err(|err| errors::invalid_payload(py, &err).unwrap_or(err))?;
        Ok(Verified {
            core: verified,
            id,
            payload: Some(payload.unbind()),
        })
    }

    /// The scheme's name, as given to the constructor.
    #[getter]
    fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// How old a signed timestamp may be, in seconds.
    #[getter]
    fn past_tolerance(&self) -> u64 {
        self.past_tolerance
    }

    /// How far ahead a signed timestamp may be, in seconds.
    #[getter]
    fn future_tolerance(&self) -> u64 {
        self.future_tolerance
    }

    /// The headers this scheme reads, lowercase: the signature, then the
    /// timestamp and id headers where the scheme has them.
    ///
    /// >>> from titan_webhooks import Verifier
    /// >>> Verifier("standard_webhooks", b"key").header_names
    /// ('webhook-signature', 'webhook-timestamp', 'webhook-id')
    #[getter]
    fn header_names<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let names: Vec<&str> = self
            .inner
            .scheme()
            .headers()
            .map(|name| name.as_str())
            .collect();
        PyTuple::new(py, names)
    }

    fn __repr__(&self) -> String {
        format!(
            "Verifier(scheme='{}', secrets={}, past_tolerance={}, future_tolerance={})",
            self.scheme, self.secrets, self.past_tolerance, self.future_tolerance
        )
    }
}

impl Verifier {
    /// Looks the scheme's headers up in `headers` and verifies `body`
    /// against them, with the GIL released for a large body.
    fn check(
        &self,
        py: Python<'_>,
        headers: &Bound<'_, PyAny>,
        body: &Body<'_>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(titan_webhooks::Verified, Option<String>)> {
        let now = now.map(|now| args::unix_seconds("now", now)).transpose()?;
        let scheme = self.inner.scheme();
        let signature_name = scheme.signature_header();
        let mut names = vec![signature_name];
        names.extend(scheme.timestamp_header());
        names.extend(scheme.id_header());
        let values = match crate::headers::lookup(headers, &names)? {
            Ok(values) => values,
            Err(err) => return Err(errors::rejected(py, &err)),
        };
        let mut values = values.into_iter();
        let Some(signature) = values.next().flatten() else {
            let missing = VerifyError::MissingHeader {
                name: signature_name.as_str().to_owned(),
            };
            return Err(errors::rejected(py, &missing));
        };
        let timestamp = scheme
            .timestamp_header()
            .and_then(|_| values.next().flatten());
        let id = scheme.id_header().and_then(|_| values.next().flatten());

        let mut raw = RawHeaders::new(&signature);
        if let Some(timestamp) = &timestamp {
            raw = raw.timestamp(timestamp);
        }
        if let Some(id) = &id {
            raw = raw.id(id);
        }
        let inner = &self.inner;
        let bytes = body.as_bytes();
        let result = hash_body(py, bytes.len(), || match now {
            Some(now) => inner.verify_raw_at(raw, bytes, now),
            None => inner.verify_raw(raw, bytes),
        });
        match result {
            Ok(verified) => Ok((verified, id)),
            Err(err) => Err(errors::rejected(py, &err)),
        }
    }
}

/// What a successful ``Verifier.verify`` or ``verify_json`` learned.
///
/// ``timestamp`` is the signed unix time (``None`` for schemes that sign
/// none: Titan, TitanX, GitHub). ``id`` is the signed message id
/// (Standard Webhooks' ``webhook-id``; ``None`` for the other schemes): use
/// it to handle each delivery once. ``secret_index`` tells which of the
/// verifier's secrets matched, in the order given. ``payload`` is the
/// parsed body from ``verify_json`` (``None`` from ``verify``).
/// ``replay_fingerprint`` is 32 bytes that are the same for a replayed
/// request and differ for a fresh signature, for schemes without an id.
///
/// >>> from titan_webhooks import Signer, Verifier
/// >>> headers = Signer("eventium", "key").sign(b"{}", timestamp=1700000000)
/// >>> Verifier("eventium", "key").verify(headers, b"{}", now=1700000000)
/// Verified(timestamp=1700000000, id=None, secret_index=0)
#[pyclass(frozen, module = "titan_webhooks", name = "Verified")]
pub(crate) struct Verified {
    core: titan_webhooks::Verified,
    id: Option<String>,
    payload: Option<Py<PyAny>>,
}

#[pymethods]
impl Verified {
    /// The signed unix timestamp, or ``None`` when the scheme signs none.
    #[getter]
    fn timestamp(&self) -> Option<u64> {
        self.core.signed_timestamp()
    }

    /// The signed message id, or ``None`` when the scheme signs none.
    #[getter]
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Which secret matched: 0 for the first given, then in order.
    #[getter]
    fn secret_index(&self) -> usize {
        self.core.secret_index()
    }

    /// The body parsed by ``verify_json``; ``None`` after ``verify``.
    #[getter]
    fn payload(&self, py: Python<'_>) -> Py<PyAny> {
        self.payload
            .as_ref()
            .map_or_else(|| py.None(), |payload| payload.clone_ref(py))
    }

    /// A SHA-256 digest of the signed timestamp and the signature that
    /// matched: equal for a replay of the same request.
    #[getter]
    fn replay_fingerprint<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.core.replay_fingerprint())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let timestamp = self
            .core
            .signed_timestamp()
            .map_or_else(|| "None".to_owned(), |t| t.to_string());
        let id = match &self.id {
            Some(id) => PyString::new(py, id).repr()?.to_string(),
            None => "None".to_owned(),
        };
        Ok(format!(
            "Verified(timestamp={timestamp}, id={id}, secret_index={})",
            self.core.secret_index()
        ))
    }
}
