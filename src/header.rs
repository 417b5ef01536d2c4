//! Parsing of signature header values, without allocating.
//!
//! Input is untrusted: any bytes of any length give a result or an error,
//! never a panic.

use std::fmt;

use arrayvec::ArrayVec;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use subtle::{Choice, ConstantTimeEq as _};

use crate::scheme::{DigestEncoding, SignatureFormat};

/// The most entries of a signature header that are examined, counting
/// every entry: timestamps, signatures and ignored keys such as `v0` alike.
/// A longer header is rejected with
/// [`VerifyError::TooManyEntries`](crate::VerifyError::TooManyEntries).
///
/// ```
/// use titan_webhooks::{MAX_SIGNATURE_ENTRIES, RawHeaders, Scheme, Secret, Verifier, VerifyError};
///
/// let verifier = Verifier::new(Scheme::standard_webhooks(), Secret::generate());
/// let signatures = "v1,AAAA ".repeat(MAX_SIGNATURE_ENTRIES + 1);
/// let headers = RawHeaders::new(&signatures).timestamp("1700000000").id("msg_1");
/// let err = verifier.verify_raw_at(headers, b"{}", 1_700_000_000).unwrap_err();
/// let name = "webhook-signature".into();
/// assert_eq!(err, VerifyError::TooManyEntries { name, limit: 32 });
/// ```
pub const MAX_SIGNATURE_ENTRIES: usize = 32;

/// The longest message id accepted, in bytes.
///
/// ```
/// use titan_webhooks::{MAX_ID_LEN, Scheme, Secret, SignError, Signer};
///
/// let signer = Signer::new(Scheme::standard_webhooks(), Secret::generate());
/// assert!(signer.sign_at(&"a".repeat(MAX_ID_LEN), 1_700_000_000, b"{}").is_ok());
/// let err = signer.sign_at(&"a".repeat(MAX_ID_LEN + 1), 1_700_000_000, b"{}").unwrap_err();
/// assert_eq!(err, SignError::InvalidId);
/// ```
pub const MAX_ID_LEN: usize = 256;

/// Length of an HMAC-SHA256 tag.
pub(crate) const TAG_LEN: usize = 32;

/// An HMAC-SHA256 tag.
pub(crate) type Tag = [u8; TAG_LEN];

/// A signature header that passed the structural checks: at most
/// [`MAX_SIGNATURE_ENTRIES`] entries, at most one timestamp, at least one
/// signature of the expected version. Digests are decoded as they are
/// compared, onto the stack.
pub(crate) struct ParsedSignature<'a> {
    digests: ArrayVec<&'a [u8], MAX_SIGNATURE_ENTRIES>,
    encoding: DigestEncoding,
    /// The timestamp exactly as sent, for formats that carry it.
    pub(crate) timestamp: Option<&'a [u8]>,
}

/// Why a header could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseError {
    Malformed(HeaderProblem),
    TooManyEntries,
}

impl From<HeaderProblem> for ParseError {
    fn from(problem: HeaderProblem) -> Self {
        Self::Malformed(problem)
    }
}

impl<'a> ParsedSignature<'a> {
    pub(crate) fn new(encoding: DigestEncoding) -> Self {
        Self {
            digests: ArrayVec::new(),
            encoding,
            timestamp: None,
        }
    }

    /// Checks the structure of `value` as laid out by `format`, in one
    /// pass. It fills `self` in place: the digest list is large enough for
    /// a move to show on the verify path.
    pub(crate) fn read(
        &mut self,
        value: &'a [u8],
        format: &SignatureFormat,
    ) -> Result<(), ParseError> {
        match format {
            SignatureFormat::Prefixed {
                prefix,
                prefix_optional,
            } => {
                let digest = match value.strip_prefix(prefix.as_bytes()) {
                    Some(rest) => rest,
                    None if *prefix_optional => value,
                    None => return Err(HeaderProblem::MissingPrefix.into()),
                };
                self.push(digest)?;
            }
            SignatureFormat::KeyValue {
                timestamp_key,
                signature_key,
            } => {
                for_each_entry(value, b',', |entry| {
                    let (key, val) = split_once(entry, b'=').ok_or(HeaderProblem::InvalidEntry)?;
                    if key == timestamp_key.as_bytes() {
                        if self.timestamp.replace(val).is_some() {
                            return Err(HeaderProblem::RepeatedTimestamp.into());
                        }
                    } else if key == signature_key.as_bytes() {
                        self.push(val)?;
                    }
                    Ok(())
                })?;
            }
            SignatureFormat::VersionedList { version } => {
                for_each_entry(value, b' ', |entry| {
                    let (ver, digest) =
                        split_once(entry, b',').ok_or(HeaderProblem::InvalidEntry)?;
                    if ver == version.as_bytes() {
                        self.push(digest)?;
                    }
                    Ok(())
                })?;
            }
        }
        if self.digests.is_empty() {
            return Err(HeaderProblem::NoSignature.into());
        }
        Ok(())
    }

    fn push(&mut self, digest: &'a [u8]) -> Result<(), ParseError> {
        self.digests
            .try_push(digest)
            .map_err(|_| ParseError::TooManyEntries)
    }

    /// The signature entries' digests, decoded; `None` for one that is not
    /// valid hex or base64 of a 32-byte tag.
    pub(crate) fn digests(&self) -> impl Iterator<Item = Option<Tag>> + '_ {
        self.digests
            .iter()
            .map(|digest| decode_tag(digest, self.encoding))
    }

    /// Whether any digest is `expected`, compared in constant time.
    ///
    /// Base64 digests are compared as text with `expected`'s encoding:
    /// the decoder accepts no other spelling of the same bytes (padding and
    /// trailing bits must be canonical), and one encode is cheaper than a
    /// decode per entry. Hex digests are decoded, as either case is valid.
    pub(crate) fn contains(&self, expected: &Tag) -> Choice {
        match self.encoding {
            DigestEncoding::Base64 => {
                let mut text = [0u8; BASE64_TAG_WORDS * 8];
                let Ok(BASE64_TAG_LEN) = STANDARD.encode_slice(expected, &mut text) else {
                    return Choice::from(0);
                };
                let expected: [u64; BASE64_TAG_WORDS] = words(&text);
                self.digests.iter().fold(Choice::from(0), |found, digest| {
                    if digest.len() != BASE64_TAG_LEN {
                        return found;
                    }
                    let mut padded = [0u8; BASE64_TAG_WORDS * 8];
                    padded
                        .iter_mut()
                        .zip(digest.iter())
                        .for_each(|(slot, byte)| *slot = *byte);
                    found | words::<BASE64_TAG_WORDS>(&padded)[..].ct_eq(&expected[..])
                })
            }
            DigestEncoding::Hex => self
                .digests()
                .flatten()
                .fold(Choice::from(0), |found, received| {
                    found | tags_equal(expected, &received)
                }),
        }
    }

    /// How many digests decode to a tag, and how many do not: what a
    /// failed verify reports.
    pub(crate) fn decodable_counts(&self) -> (usize, usize) {
        let decodable = self.digests().filter(Option::is_some).count();
        (decodable, self.digests.len().saturating_sub(decodable))
    }
}

/// A tag's length in padded standard base64.
const BASE64_TAG_LEN: usize = TAG_LEN.div_ceil(3) * 4;

/// [`BASE64_TAG_LEN`] in 64-bit words, rounded up.
const BASE64_TAG_WORDS: usize = BASE64_TAG_LEN.div_ceil(8);

/// Compares two tags in constant time with `subtle`, as four 64-bit words:
/// `subtle` pays an optimisation barrier per element, and per byte that
/// was a quarter of a small body's verify.
pub(crate) fn tags_equal(a: &Tag, b: &Tag) -> Choice {
    words::<4>(a)[..].ct_eq(&words::<4>(b)[..])
}

/// `bytes` as native-endian words (a short tail is zero-filled); only
/// equality is asked of them.
fn words<const N: usize>(bytes: &[u8]) -> [u64; N] {
    let mut words = [0u64; N];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
        let mut full = [0u8; 8];
        full.iter_mut()
            .zip(chunk)
            .for_each(|(slot, byte)| *slot = *byte);
        *word = u64::from_ne_bytes(full);
    }
    words
}

/// Calls `visit` with each non-empty, trimmed entry of `value` split at
/// `separator`, failing past [`MAX_SIGNATURE_ENTRIES`] entries.
fn for_each_entry<'a>(
    value: &'a [u8],
    separator: u8,
    mut visit: impl FnMut(&'a [u8]) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let mut seen = 0usize;
    let mut rest = value;
    loop {
        let (entry, next) = match split_once(rest, separator) {
            Some((entry, tail)) => (entry, Some(tail)),
            None => (rest, None),
        };
        let entry = entry.trim_ascii();
        if !entry.is_empty() {
            seen = seen.saturating_add(1);
            if seen > MAX_SIGNATURE_ENTRIES {
                return Err(ParseError::TooManyEntries);
            }
            visit(entry)?;
        }
        match next {
            Some(tail) => rest = tail,
            None => return Ok(()),
        }
    }
}

/// The bytes before and after the first `separator`.
fn split_once(bytes: &[u8], separator: u8) -> Option<(&[u8], &[u8])> {
    let at = memchr::memchr(separator, bytes)?;
    Some((bytes.get(..at)?, bytes.get(at.checked_add(1)?..)?))
}

/// Hex digits of a tag.
pub(crate) const HEX_TAG_LEN: usize = TAG_LEN * 2;

/// Decodes a received digest into a tag on the stack.
fn decode_tag(digest: &[u8], encoding: DigestEncoding) -> Option<Tag> {
    let mut tag = [0u8; TAG_LEN];
    match encoding {
        // The exact length also refuses a `0x` prefix, which the decoder
        // would otherwise skip.
        DigestEncoding::Hex if digest.len() == HEX_TAG_LEN => {
            const_hex::decode_to_slice(digest, &mut tag).ok()?;
        }
        DigestEncoding::Hex => return None,
        DigestEncoding::Base64 => {
            let written = STANDARD.decode_slice(digest, &mut tag).ok()?;
            if written != TAG_LEN {
                return None;
            }
        }
    }
    Some(tag)
}

/// Parses a unix timestamp: 1 to 20 ASCII digits that fit a `u64`.
/// Signs, spaces and fractions are rejected.
pub(crate) fn parse_unix_timestamp(raw: &[u8]) -> Option<u64> {
    if raw.is_empty() || raw.len() > 20 || !raw.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let digit = |byte: &u8| u64::from(byte.wrapping_sub(b'0'));
    // Nineteen digits always fit a u64, so only the twentieth can overflow:
    // the hot path needs no overflow check per digit.
    let (head, last) = raw.split_at(raw.len().min(19));
    let head = head.iter().fold(0u64, |total, byte| {
        total.wrapping_mul(10).wrapping_add(digit(byte))
    });
    match last.first() {
        None => Some(head),
        Some(byte) => head.checked_mul(10)?.checked_add(digit(byte)),
    }
}

/// A message id is 1 to [`MAX_ID_LEN`] visible ASCII bytes other than `.`,
/// so it is a valid header value and cannot shift the boundaries of the
/// signed content `<id>.<timestamp>.<body>`.
pub(crate) fn is_valid_message_id(id: &[u8]) -> bool {
    // A fold without early exit, so the check vectorizes: it runs on every
    // verify of a scheme with ids.
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .iter()
            .fold(true, |valid, &b| valid & b.is_ascii_graphic() & (b != b'.'))
}

/// What is wrong with a malformed header, without repeating its value.
///
/// ```
/// use titan_webhooks::{HeaderProblem, RawHeaders, Scheme, Secret, Verifier, VerifyError};
///
/// let verifier = Verifier::new(Scheme::github(), Secret::from_utf8("key")?);
/// // GitHub's older SHA-1 header value, sent where SHA-256 is expected.
/// let err = verifier.verify_raw(RawHeaders::new("sha1=0123"), b"{}").unwrap_err();
/// let problem = HeaderProblem::MissingPrefix;
/// assert_eq!(err, VerifyError::MalformedHeader { name: "x-hub-signature-256".into(), problem });
/// # Ok::<(), titan_webhooks::SecretError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderProblem {
    /// The header occurs more than once.
    Repeated,
    /// The value lacks the scheme's prefix (for example `sha256=`).
    MissingPrefix,
    /// An entry is not of the form the scheme defines.
    InvalidEntry,
    /// The header carries no signature of the expected version.
    NoSignature,
    /// A signature is not valid hex or base64, or has the wrong length.
    InvalidSignatureEncoding,
    /// The timestamp entry is absent.
    MissingTimestamp,
    /// The timestamp entry occurs more than once.
    RepeatedTimestamp,
    /// The timestamp is not a non-negative decimal integer that fits 64 bits.
    InvalidTimestamp,
    /// The message id is empty, too long or has bytes not allowed in it.
    InvalidId,
    /// The request mixes Standard Webhooks' `webhook-*` headers with Svix's
    /// `svix-*` ones, and not as two complete families.
    MixedFamilies,
}

impl fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Repeated => "the header occurs more than once",
            Self::MissingPrefix => "the value lacks the scheme's prefix",
            Self::InvalidEntry => "an entry is not of the scheme's form",
            Self::NoSignature => "no signature of the expected version",
            Self::InvalidSignatureEncoding => "a signature has a bad encoding or length",
            Self::MissingTimestamp => "the timestamp is missing",
            Self::RepeatedTimestamp => "the timestamp occurs more than once",
            Self::InvalidTimestamp => "the timestamp is not a valid unix time",
            Self::InvalidId => "the message id is not valid",
            Self::MixedFamilies => {
                "it mixes `webhook-*` and `svix-*` headers; send all three of one family"
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    #[test]
    fn tags_differing_in_any_bit_are_unequal() {
        let tag: Tag = std::array::from_fn(|i| u8::try_from(i).unwrap_or(0));
        assert!(bool::from(tags_equal(&tag, &tag)));
        for byte in 0..tag.len() {
            for bit in 0..8 {
                let mut other = tag;
                other[byte] ^= 1 << bit;
                assert!(
                    !bool::from(tags_equal(&tag, &other)),
                    "byte {byte}, bit {bit}"
                );
            }
        }
    }

    /// `contains` compares base64 as text, which is sound only if no other
    /// text decodes to the same tag: every other spelling must be refused.
    #[test]
    fn a_base64_tag_has_one_spelling_and_only_it_matches() {
        let tag: Tag = std::array::from_fn(|i| u8::try_from(i * 7).unwrap_or(0));
        let text = STANDARD.encode(tag);
        assert_eq!(text.len(), BASE64_TAG_LEN);
        let entry = |digest: &str| format!("v1,{digest}");
        fn parse(value: &str) -> Result<ParsedSignature<'_>, ParseError> {
            let mut parsed = ParsedSignature::new(DigestEncoding::Base64);
            let format = SignatureFormat::VersionedList {
                version: "v1".into(),
            };
            parsed.read(value.as_bytes(), &format).map(|()| parsed)
        }
        let two_entries = format!("v1,bogus {}", entry(&text));
        let parsed = parse(&two_entries).unwrap();
        assert!(bool::from(parsed.contains(&tag)));
        assert_eq!(parsed.decodable_counts(), (1, 1));
        // The last data character carries two unused bits; any other
        // value of them, or missing padding, must not decode either.
        let last = text.len() - 2;
        for replacement in b'A'..=b'z' {
            let mut other = text.clone().into_bytes();
            other[last] = replacement;
            let other = String::from_utf8(other).unwrap();
            let decodes = STANDARD.decode(&other).is_ok_and(|bytes| bytes == tag);
            let other_entry = entry(&other);
            let matches = bool::from(parse(&other_entry).unwrap().contains(&tag));
            assert_eq!(decodes, other == text, "{other}");
            assert_eq!(matches, other == text, "{other}");
        }
        let unpadded = text.trim_end_matches('=');
        assert!(STANDARD.decode(unpadded).is_err());
        let unpadded_entry = entry(unpadded);
        assert!(!bool::from(parse(&unpadded_entry).unwrap().contains(&tag)));
    }

    fn key_value() -> SignatureFormat {
        SignatureFormat::KeyValue {
            timestamp_key: Cow::Borrowed("t"),
            signature_key: Cow::Borrowed("v1"),
        }
    }

    fn parse(header: &str) -> Result<ParsedSignature<'_>, ParseError> {
        let mut parsed = ParsedSignature::new(DigestEncoding::Hex);
        parsed.read(header.as_bytes(), &key_value())?;
        Ok(parsed)
    }

    #[test]
    fn timestamps_must_be_plain_digits() {
        assert_eq!(parse_unix_timestamp(b"1614265330"), Some(1_614_265_330));
        assert_eq!(parse_unix_timestamp(b"0"), Some(0));
        assert_eq!(
            parse_unix_timestamp(b"18446744073709551615"),
            Some(u64::MAX)
        );
        for bad in [
            &b""[..],
            b"18446744073709551616",
            b"-9223372036854775808",
            b"+1",
            b" 1",
            b"1.5",
            b"123456789012345678901234567890",
        ] {
            assert_eq!(parse_unix_timestamp(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn key_value_keeps_every_signature_and_ignores_other_keys() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let header = format!("t=5,v0={a},v1={a}, v1={b},scheme=x");
        let parsed = parse(&header).unwrap();
        assert_eq!(parsed.timestamp, Some(&b"5"[..]));
        let digests: Vec<_> = parsed.digests().collect();
        assert_eq!(digests, [Some([0xaa; 32]), Some([0xbb; 32])]);
    }

    #[test]
    fn repeated_timestamp_is_rejected() {
        let header = format!("t=1,t=2,v1={}", "a".repeat(64));
        let err = parse(&header).err().unwrap();
        assert_eq!(err, ParseError::Malformed(HeaderProblem::RepeatedTimestamp));
    }

    #[test]
    fn entries_past_the_cap_are_rejected_before_decoding() {
        let header = format!("t=1{}", ",v1=00".repeat(MAX_SIGNATURE_ENTRIES));
        let err = parse(&header).err().unwrap();
        assert_eq!(err, ParseError::TooManyEntries);
        // Exactly at the cap is fine.
        let header = format!(
            "t=1{}",
            format!(",v1={}", "c".repeat(64)).repeat(MAX_SIGNATURE_ENTRIES - 1)
        );
        let parsed = parse(&header).unwrap();
        assert_eq!(
            parsed.digests().flatten().count(),
            MAX_SIGNATURE_ENTRIES - 1
        );
    }

    #[test]
    fn wrong_length_digests_do_not_decode() {
        assert_eq!(decode_tag(&[b'a'; 62], DigestEncoding::Hex), None);
        assert_eq!(decode_tag(&[b'a'; 66], DigestEncoding::Hex), None);
        let mut prefixed = b"0x".to_vec();
        prefixed.extend_from_slice(&[b'a'; 62]);
        assert_eq!(decode_tag(&prefixed, DigestEncoding::Hex), None);
        assert_eq!(
            decode_tag(&[b'A'; 64], DigestEncoding::Hex),
            Some([0xaa; 32])
        );
        // 24 bytes of base64, a valid encoding of the wrong length.
        assert_eq!(
            decode_tag(b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", DigestEncoding::Base64),
            None
        );
    }

    #[test]
    fn ids_that_would_shift_the_signed_content_are_invalid() {
        assert!(is_valid_message_id(b"msg_p5jXN8AQM9LWM0D4loKWxJek"));
        assert!(!is_valid_message_id(b"msg.1"));
        assert!(!is_valid_message_id(b""));
        assert!(!is_valid_message_id(b"a b"));
        assert!(!is_valid_message_id("é".as_bytes()));
        assert!(!is_valid_message_id(&[b'a'; MAX_ID_LEN + 1]));
    }
}
