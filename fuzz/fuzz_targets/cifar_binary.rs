//! Fuzzes the CIFAR-10 binary batch reader (`cifar_binary::records`): any bytes are read as
//! whole records with labels below the number of classes, or refused with an error that
//! names the file and the field or record.
#![no_main]

use std::path::Path;

use heaccel_host::data::{cifar_binary, DataError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = Path::new("data_batch_1.bin");
    match cifar_binary::records(data, file, 10) {
        Ok(samples) => {
            assert_eq!(samples.len() * cifar_binary::RECORD_BYTES, data.len());
            assert!(samples
                .iter()
                .all(|s| s.label < 10 && s.pixels.len() == 3072));
        }
        Err(DataError::Format { file: f, field, .. }) => {
            assert_eq!(f, file);
            assert_eq!(field, "length");
        }
        Err(DataError::Label { file: f, index, .. }) => {
            assert_eq!(f, file);
            assert!(index < data.len() / cifar_binary::RECORD_BYTES);
        }
        Err(e) => panic!("unexpected error {e}"),
    }
});
