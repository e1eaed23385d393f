//! Parameter literals are refused by the security bound and the size limits before any prime
//! is searched (issue 22: 3,000 requested 61-bit primes at `log_n = 13` used to search primes
//! for more than 20 s before the 128-bit bound was checked).

use std::time::{Duration, Instant};

use heaccel_verification::arith::ntt_primes;
use heaccel_verification::ckks::{Parameters, ParametersLiteral, MAX_LITERAL_BYTES, MAX_PRIMES};
use heaccel_verification::Error;

/// Generous: the checks are linear in the entries and take microseconds here.
const QUICK: Duration = Duration::from_secs(2);

fn literal_json(log_n: u32, log_q: &[u32], log_p: &[u32], allow_insecure: bool) -> String {
    let list = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    format!(
        r#"{{"log_n": {log_n}, "log_q": [{}], "log_p": [{}], "log_scale": 40, "dnum": 1,
            "allow_insecure": {allow_insecure}}}"#,
        list(log_q),
        list(log_p)
    )
}

/// Builds the literal of `json` (as `heaccel ckks params --params FILE.json` does), timed.
fn build_json(json: &str) -> (Result<Parameters, Error>, Duration) {
    let start = Instant::now();
    let result = ParametersLiteral::from_json(json).and_then(|lit| lit.build());
    (result, start.elapsed())
}

#[test]
fn three_thousand_primes_are_refused_by_the_bound_before_any_search() {
    let json = literal_json(13, &[61; 3000], &[61], false);
    let (result, elapsed) = build_json(&json);
    let err = result.unwrap_err();
    match &err {
        Error::Insecure {
            field,
            log_n,
            log_pq,
            bound,
        } => {
            // 4 x 61 = 244 > 218: the running sum first exceeds the bound at log_q[3]
            assert_eq!(field, "log_q[3]");
            assert_eq!((*log_n, *bound), (13, 218));
            assert_eq!(*log_pq, 3001.0 * 61.0);
        }
        other => panic!("expected Error::Insecure, got {other:?}"),
    }
    let message = err.to_string();
    for needle in ["log_q[3]", "218", "allow_insecure"] {
        assert!(message.contains(needle), "{needle} not in: {message}");
    }
    assert!(elapsed < QUICK, "took {elapsed:?}");
}

#[test]
fn with_the_opt_in_an_absurd_prime_count_is_refused_by_the_limit_before_any_search() {
    let json = literal_json(13, &[61; 3000], &[61], true);
    let (result, elapsed) = build_json(&json);
    let err = result.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidParameter { field, reason }
            if field == "log_q" && reason.contains("3000") && reason.contains(&MAX_PRIMES.to_string())),
        "{err:?}"
    );
    assert!(elapsed < QUICK, "took {elapsed:?}");

    // explicit primes: refused by the count before any primality test
    let prime = ntt_primes(61, 13, 1, &[]).unwrap()[0];
    let lit = ParametersLiteral {
        log_n: 13,
        log_q: vec![],
        q: vec![prime; 1_000_000],
        log_p: vec![50],
        p: vec![],
        log_scale: 40,
        dnum: 1,
        hamming_weight: None,
        allow_insecure: true,
    };
    let start = Instant::now();
    let err = lit.build().unwrap_err();
    assert!(
        matches!(&err, Error::InvalidParameter { field, .. } if field == "q"),
        "{err:?}"
    );
    assert!(start.elapsed() < QUICK, "took {:?}", start.elapsed());
}

#[test]
fn the_prime_limit_counts_q_and_p_together_and_is_exact() {
    // N = 2^4 keeps the tables tiny; 61-bit primes are plentiful there
    let at_limit = literal_json(4, &[61; MAX_PRIMES - 1], &[61], true);
    let (result, _) = build_json(&at_limit);
    let params = result.unwrap();
    assert_eq!(params.max_level() + 1 + params.p_tables().len(), MAX_PRIMES);

    let over = literal_json(4, &[61; MAX_PRIMES - 1], &[61, 61], true);
    let (result, elapsed) = build_json(&over);
    let err = result.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidParameter { field, .. } if field == "log_p"),
        "{err:?}"
    );
    assert!(elapsed < QUICK, "took {elapsed:?}");
}

#[test]
fn requested_bit_sizes_count_in_full_against_the_bound() {
    // 45 + 3 x 35 + 49 = 199 <= 218 ... and 45 + 35 + 35 + 35 + 35 + 40 = 225 > 218, where the
    // running sum first exceeds 218 at log_p[0] (180 + 40 = 220)
    let (ok, _) = build_json(&literal_json(13, &[45, 35, 35, 35], &[49], false));
    assert!(ok.unwrap().log_pq() <= 199.0);
    let (result, _) = build_json(&literal_json(13, &[45, 35, 35, 35, 35], &[40], false));
    let err = result.unwrap_err();
    assert!(
        matches!(&err, Error::Insecure { field, bound: 218, log_pq, .. }
            if field == "log_p[0]" && *log_pq == 225.0),
        "{err:?}"
    );
    // exactly at the bound is accepted: 218 = 61 + 61 + 61 + 35
    let (ok, _) = build_json(&literal_json(13, &[61, 61, 61], &[35], false));
    assert!(ok.unwrap().security_bits() == Some(128));
}

#[test]
fn one_search_per_size_gives_the_primes_of_one_search_per_entry() {
    // sizes interleaved: each request of b bits gets the next largest free b-bit prime
    let (result, _) = build_json(&literal_json(14, &[50, 40, 50, 40, 50], &[50], false));
    let params = result.unwrap();
    let fifty = ntt_primes(50, 14, 4, &[]).unwrap();
    let forty = ntt_primes(40, 14, 2, &[]).unwrap();
    let q: Vec<u64> = params.literal().q.clone();
    assert_eq!(q, [fifty[0], forty[0], fifty[1], forty[1], fifty[2]]);
    assert_eq!(params.literal().p, [fifty[3]]);
}

#[test]
fn check_refuses_what_build_refuses_first() {
    let lit = ParametersLiteral::from_json(&literal_json(13, &[61; 3000], &[61], false)).unwrap();
    let checked = lit.check().unwrap_err();
    assert_eq!(checked, lit.build().unwrap_err());
    let fine = ParametersLiteral::from_json(&literal_json(13, &[45, 35], &[50], false)).unwrap();
    fine.check().unwrap();
    fine.build().unwrap();
}

#[test]
fn literal_texts_beyond_the_length_limit_are_refused_before_parsing() {
    // a valid literal padded with whitespace (JSON) or a comment (TOML) past the limit
    let json = literal_json(13, &[45, 35], &[50], false);
    let padded = format!("{json}{}", " ".repeat(MAX_LITERAL_BYTES));
    let err = ParametersLiteral::from_json(&padded).unwrap_err();
    assert!(
        matches!(&err, Error::Malformed { what, found, expected }
            if what == "parameters (JSON)"
                && found == &format!("{} bytes of JSON", padded.len())
                && expected.contains(&MAX_LITERAL_BYTES.to_string())),
        "{err:?}"
    );
    let toml = "log_n = 13\nlog_q = [45, 35]\nlog_p = [50]\nlog_scale = 35\ndnum = 1\n";
    let padded = format!("{toml}# {}\n", "x".repeat(MAX_LITERAL_BYTES));
    let err = ParametersLiteral::from_toml(&padded).unwrap_err();
    assert!(
        matches!(&err, Error::Malformed { what, expected, .. }
            if what == "parameters (TOML)" && expected.contains(&MAX_LITERAL_BYTES.to_string())),
        "{err:?}"
    );
    // at the limit the text is read
    let at_limit = format!("{json}{}", " ".repeat(MAX_LITERAL_BYTES - json.len()));
    assert_eq!(at_limit.len(), MAX_LITERAL_BYTES);
    ParametersLiteral::from_json(&at_limit)
        .unwrap()
        .build()
        .unwrap();
}
