//! Names of a lowered program's buffers: an operand's typed [`OperandStem`], the field after
//! it (`c{i}`, `m`, `d{j}.{b,a}`), and [`BufferOperand::parse`], their inverse.

use std::fmt;

/// The stem of an operand's buffers (the name before the first `.`); `Display` spells it as
/// the lowered programs name it, [`OperandStem::parse`] reads it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperandStem {
    /// `a`: ciphertext input 0.
    A,
    /// `b`: ciphertext input 1.
    B,
    /// `x{t}`: ciphertext input `t` of an inner product.
    X(usize),
    /// `out`: the result of a single-result operation (result 0).
    Out,
    /// `out{r}`: result `r` of the automorphisms (`out0` for the first).
    OutIndexed(usize),
    /// `m`: the plaintext of a plaintext operation (plaintext 0).
    M,
    /// `m{t}`: plaintext `t` of an inner product.
    MIndexed(usize),
    /// `rlk`: the relinearization key.
    Rlk,
    /// `gk{g}`: the Galois key of element `g`.
    Galois(u64),
}

impl fmt::Display for OperandStem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OperandStem::A => f.write_str("a"),
            OperandStem::B => f.write_str("b"),
            OperandStem::X(t) => write!(f, "x{t}"),
            OperandStem::Out => f.write_str("out"),
            OperandStem::OutIndexed(r) => write!(f, "out{r}"),
            OperandStem::M => f.write_str("m"),
            OperandStem::MIndexed(t) => write!(f, "m{t}"),
            OperandStem::Rlk => f.write_str("rlk"),
            OperandStem::Galois(g) => write!(f, "gk{g}"),
        }
    }
}

/// A decimal number without sign or leading zeros.
fn number<T: std::str::FromStr>(s: &str) -> Option<T> {
    let canonical = !s.is_empty()
        && s.bytes().all(|c| c.is_ascii_digit())
        && !(s.starts_with('0') && s.len() > 1);
    canonical.then(|| s.parse().ok()).flatten()
}

impl OperandStem {
    /// The stem spelled `stem`, `None` outside the layout (`tmp` included); the inverse of
    /// `Display`.
    pub fn parse(stem: &str) -> Option<Self> {
        Some(match stem {
            "a" => OperandStem::A,
            "b" => OperandStem::B,
            "out" => OperandStem::Out,
            "m" => OperandStem::M,
            "rlk" => OperandStem::Rlk,
            _ => {
                if let Some(r) = stem.strip_prefix("out") {
                    OperandStem::OutIndexed(number(r)?)
                } else if let Some(g) = stem.strip_prefix("gk") {
                    OperandStem::Galois(number(g)?)
                } else if let Some(t) = stem.strip_prefix('x') {
                    OperandStem::X(number(t)?)
                } else {
                    OperandStem::MIndexed(number(stem.strip_prefix('m')?)?)
                }
            }
        })
    }

    /// The operand of this stem's buffer with field `field` (after the first `.`), `None` if
    /// the field does not belong to the stem: `c0`/`c1` for a ciphertext, `m` for a
    /// plaintext, `d{j}.b`/`d{j}.a` for a switching key.
    pub fn operand(self, field: &str) -> Option<BufferOperand> {
        let part = || match field {
            "c0" => Some(0),
            "c1" => Some(1),
            _ => None,
        };
        let key = |galois: Option<u64>| {
            let (digit, half) = field.split_once('.')?;
            let digit = number(digit.strip_prefix('d')?)?;
            let half = match half {
                "b" => 0,
                "a" => 1,
                _ => return None,
            };
            Some(BufferOperand::Key {
                galois,
                digit,
                half,
            })
        };
        let input = |index| {
            Some(BufferOperand::Input {
                index,
                part: part()?,
            })
        };
        let output = |index| {
            Some(BufferOperand::Output {
                index,
                part: part()?,
            })
        };
        let plaintext = |index| (field == "m").then_some(BufferOperand::Plaintext { index });
        match self {
            OperandStem::A => input(0),
            OperandStem::B => input(1),
            OperandStem::X(t) => input(t),
            OperandStem::Out => output(0),
            OperandStem::OutIndexed(r) => output(r),
            OperandStem::M => plaintext(0),
            OperandStem::MIndexed(t) => plaintext(t),
            OperandStem::Rlk => key(None),
            OperandStem::Galois(g) => key(Some(g)),
        }
    }
}

/// The buffer `{stem}.c{part}` of part `part` of a ciphertext.
pub fn ciphertext_buffer(stem: impl fmt::Display, part: usize) -> String {
    format!("{stem}.c{part}")
}

/// The buffer `{stem}.m` of a plaintext.
pub fn plaintext_buffer(stem: impl fmt::Display) -> String {
    format!("{stem}.m")
}

/// The buffer `{stem}.d{digit}.b` (`half` 0) or `{stem}.d{digit}.a` (`half` 1) of a switching
/// key. Panics for `half` > 1.
pub fn key_buffer(stem: impl fmt::Display, digit: usize, half: usize) -> String {
    let h = ["b", "a"][half];
    format!("{stem}.d{digit}.{h}")
}

/// What a buffer of a lowered program holds, read from its name: the contract between the
/// layout above and whoever binds a lowered operation into a larger program
/// ([`crate::stream`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BufferOperand {
    /// Part `part` (0 or 1) of ciphertext operand `index`: `a` is 0, `b` is 1, `x{t}` is `t`.
    Input {
        /// Operand position.
        index: usize,
        /// Ciphertext part.
        part: usize,
    },
    /// Part `part` of result `index`: `out` is 0, `out{r}` is `r`.
    Output {
        /// Result position.
        index: usize,
        /// Ciphertext part.
        part: usize,
    },
    /// Plaintext operand `index`: `m` is 0, `m{t}` is `t`.
    Plaintext {
        /// Operand position.
        index: usize,
    },
    /// Digit `digit`, half `half` (0: `b`, 1: `a`) of a switching key: the relinearization
    /// key (`galois` = `None`) or the Galois key of an element.
    Key {
        /// The Galois element, `None` for the relinearization key.
        galois: Option<u64>,
        /// Digit, `[0, dnum)`.
        digit: usize,
        /// 0 for `b`, 1 for `a`.
        half: usize,
    },
    /// A temporary of the operation itself (`tmp.*`), dead after it.
    Temp,
}

impl BufferOperand {
    /// The operand a lowered buffer named `name` holds, `None` for a name outside the layout.
    pub fn parse(name: &str) -> Option<Self> {
        let (stem, field) = name.split_once('.')?;
        if stem == "tmp" {
            return Some(BufferOperand::Temp);
        }
        OperandStem::parse(stem)?.operand(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems() -> Vec<OperandStem> {
        use OperandStem::*;
        vec![
            A,
            B,
            X(0),
            X(3),
            X(12),
            Out,
            OutIndexed(0),
            OutIndexed(2),
            OutIndexed(10),
            M,
            MIndexed(0),
            MIndexed(7),
            Rlk,
            Galois(5),
            Galois(25),
            Galois(u64::MAX),
        ]
    }

    #[test]
    fn stems_are_spelled_as_the_programs_name_them() {
        use OperandStem::*;
        let spelled: Vec<String> = stems().iter().map(|s| s.to_string()).collect();
        assert_eq!(
            spelled,
            [
                "a",
                "b",
                "x0",
                "x3",
                "x12",
                "out",
                "out0",
                "out2",
                "out10",
                "m",
                "m0",
                "m7",
                "rlk",
                "gk5",
                "gk25",
                "gk18446744073709551615",
            ]
        );
        assert_eq!(ciphertext_buffer(X(3), 1), "x3.c1");
        assert_eq!(ciphertext_buffer("v7", 0), "v7.c0");
        assert_eq!(plaintext_buffer(MIndexed(4)), "m4.m");
        assert_eq!(plaintext_buffer(M), "m.m");
        assert_eq!(key_buffer(Rlk, 0, 0), "rlk.d0.b");
        assert_eq!(key_buffer(Galois(5), 1, 1), "gk5.d1.a");
    }

    #[test]
    fn every_stem_parses_back() {
        for stem in stems() {
            assert_eq!(OperandStem::parse(&stem.to_string()), Some(stem), "{stem}");
        }
        for bad in [
            "", "x", "out01", "m01", "gk", "gk+5", "gk05", "ab", "tmp", "v3", "x-1",
        ] {
            assert_eq!(OperandStem::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_stem_names_its_operand() {
        use BufferOperand::*;
        use OperandStem as S;
        for part in 0..2 {
            let cases = [
                (S::A, Input { index: 0, part }),
                (S::B, Input { index: 1, part }),
                (S::X(0), Input { index: 0, part }),
                (S::X(3), Input { index: 3, part }),
                (S::Out, Output { index: 0, part }),
                (S::OutIndexed(0), Output { index: 0, part }),
                (S::OutIndexed(2), Output { index: 2, part }),
            ];
            for (stem, want) in cases {
                let name = ciphertext_buffer(stem, part);
                assert_eq!(BufferOperand::parse(&name), Some(want), "{name}");
                assert_eq!(BufferOperand::parse(&plaintext_buffer(stem)), None);
                assert_eq!(BufferOperand::parse(&key_buffer(stem, 0, part)), None);
            }
        }
        for (stem, index) in [(S::M, 0), (S::MIndexed(0), 0), (S::MIndexed(4), 4)] {
            let name = plaintext_buffer(stem);
            assert_eq!(
                BufferOperand::parse(&name),
                Some(Plaintext { index }),
                "{name}"
            );
            assert_eq!(BufferOperand::parse(&ciphertext_buffer(stem, 0)), None);
        }
        for (stem, galois) in [(S::Rlk, None), (S::Galois(5), Some(5))] {
            for digit in [0, 1, 11] {
                for half in 0..2 {
                    let name = key_buffer(stem, digit, half);
                    let want = Key {
                        galois,
                        digit,
                        half,
                    };
                    assert_eq!(BufferOperand::parse(&name), Some(want), "{name}");
                }
            }
            assert_eq!(BufferOperand::parse(&ciphertext_buffer(stem, 0)), None);
            assert_eq!(BufferOperand::parse(&plaintext_buffer(stem)), None);
        }
        assert_eq!(BufferOperand::parse("tmp.acc3"), Some(Temp));
    }
}
