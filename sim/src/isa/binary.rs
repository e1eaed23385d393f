//! The binary format: magic `HEAX`, version (u32 little-endian), bincode body, read through
//! a reader that refuses any length or value running past the end of the file.

use super::{Program, BINARY_HEADER_BYTES, BINARY_MAGIC, ISA_VERSION, MIN_ISA_VERSION};
use crate::error::{Result, SimError};

impl Program {
    /// The compact binary form: `HEAX`, version (u32 little-endian), bincode body.
    pub fn to_binary(&self) -> Vec<u8> {
        let mut out = BINARY_MAGIC.to_vec();
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend(bincode::serialize(self).expect("programs serialize"));
        out
    }

    /// Parses and validates the binary form. Errors name `source_name`: a file shorter than
    /// the header, a wrong magic or version, a list longer than its limit (refused when its
    /// length is read), a length or value that runs past the end of the file
    /// ([`SimError::Truncated`]) and any other malformation.
    pub fn from_binary(bytes: &[u8], source_name: &str) -> Result<Self> {
        let parse = |reason: String| SimError::Parse {
            source_name: source_name.to_string(),
            reason,
        };
        if bytes.len() < BINARY_HEADER_BYTES {
            return Err(parse(format!(
                "{} bytes; a HEAX program starts with an {BINARY_HEADER_BYTES}-byte header \
                 (magic `HEAX`, version)",
                bytes.len()
            )));
        }
        if bytes[..4] != BINARY_MAGIC {
            return Err(parse(
                "not a heaccel binary program (missing `HEAX` magic)".into(),
            ));
        }
        let version = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
        if !(MIN_ISA_VERSION..=ISA_VERSION).contains(&version) {
            return Err(parse(format!(
                "binary program version {version}; this reader takes {MIN_ISA_VERSION} to \
                 {ISA_VERSION}"
            )));
        }
        // bincode as `to_binary` writes it (fixed-size little-endian integers), read through
        // a reader that refuses any length or value running past the end of the file before
        // allocating for it; lists stop at their limits (`bounded`).
        use bincode::Options;
        let reader = BodyReader {
            bytes,
            pos: BINARY_HEADER_BYTES,
        };
        let program: Program = bincode::DefaultOptions::new()
            .with_fixint_encoding()
            .allow_trailing_bytes()
            .deserialize_from_custom(reader)
            .map_err(|e| {
                if let bincode::ErrorKind::Io(io) = &*e {
                    if let Some(past) = io.get_ref().and_then(|e| e.downcast_ref::<PastEnd>()) {
                        return SimError::Truncated {
                            source_name: source_name.to_string(),
                            what: past.what,
                            needed: past.needed as u64,
                            offset: past.offset as u64,
                            file_bytes: bytes.len() as u64,
                        };
                    }
                }
                parse(format!("malformed binary program: {e}"))
            })?;
        if program.version != version {
            return Err(parse(format!(
                "the header says version {version}, the body version {}",
                program.version
            )));
        }
        program.validate(source_name)?;
        Ok(program)
    }
}

/// A read past the end of a binary program (carried through bincode's I/O error).
#[derive(Debug)]
struct PastEnd {
    what: &'static str,
    needed: usize,
    offset: usize,
}

impl std::fmt::Display for PastEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} bytes at byte {} runs past the end",
            self.what, self.needed, self.offset
        )
    }
}

impl std::error::Error for PastEnd {}

/// The body of a binary program: the whole file and the position in it, so errors give file
/// offsets.
struct BodyReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> BodyReader<'a> {
    /// The next `needed` bytes, or a [`PastEnd`] error (nothing allocated) when the file ends
    /// before them.
    fn take(&mut self, needed: usize, what: &'static str) -> std::io::Result<&'a [u8]> {
        let rest = &self.bytes[self.pos..];
        if needed > rest.len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                PastEnd {
                    what,
                    needed,
                    offset: self.pos,
                },
            ));
        }
        self.pos += needed;
        Ok(&rest[..needed])
    }
}

impl std::io::Read for BodyReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let data = self.take(out.len(), "a value")?;
        out.copy_from_slice(data);
        Ok(out.len())
    }

    fn read_exact(&mut self, out: &mut [u8]) -> std::io::Result<()> {
        self.read(out).map(|_| ())
    }
}

impl<'a> bincode::BincodeRead<'a> for BodyReader<'a> {
    fn forward_read_str<V: serde::de::Visitor<'a>>(
        &mut self,
        length: usize,
        visitor: V,
    ) -> bincode::Result<V::Value> {
        let data = self.take(length, "a string")?;
        let text = std::str::from_utf8(data)
            .map_err(|e| Box::new(bincode::ErrorKind::InvalidUtf8Encoding(e)))?;
        visitor.visit_borrowed_str(text)
    }

    fn get_byte_buffer(&mut self, length: usize) -> bincode::Result<Vec<u8>> {
        Ok(self.take(length, "a string")?.to_vec())
    }

    fn forward_read_bytes<V: serde::de::Visitor<'a>>(
        &mut self,
        length: usize,
        visitor: V,
    ) -> bincode::Result<V::Value> {
        visitor.visit_borrowed_bytes(self.take(length, "a byte string")?)
    }
}
