//! The JSON format: each instruction an object with one key, the op.

use super::Program;
use crate::error::{Result, SimError};

impl Program {
    /// Parses and validates a program from JSON text; errors name `source_name` and the field.
    pub fn from_json(text: &str, source_name: &str) -> Result<Self> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let program: Program =
            serde_path_to_error::deserialize(de).map_err(|e| SimError::Parse {
                source_name: source_name.to_string(),
                reason: format!("field `{}`: {}", e.path(), e.inner()),
            })?;
        program.validate(source_name)?;
        Ok(program)
    }

    /// The JSON text of the program.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("programs serialize")
    }
}
