//! Fuzzes the MNIST IDX reader (`mnist_idx::samples`, raw or gzipped): the input is split into
//! an images file and a labels file at the position its first byte gives; they are read, or
//! refused with an error that names the file at fault and the field or record. Declared
//! dimensions are checked against the data before anything is allocated for them.
#![no_main]

use std::path::Path;

use heaccel_host::data::{mnist_idx, DataError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut).min(rest.len());
    let (images, labels) = rest.split_at(rest.len() - cut);
    let images_file = Path::new("t10k-images-idx3-ubyte");
    let labels_file = Path::new("t10k-labels-idx1-ubyte");
    match mnist_idx::samples((images_file, images), (labels_file, labels)) {
        Ok((shape, samples)) => {
            assert!(samples
                .iter()
                .all(|s| s.label < mnist_idx::CLASSES && s.pixels.len() == shape.len()));
        }
        Err(DataError::Format { file, field, .. }) => {
            assert!(file == images_file || file == labels_file);
            assert!(!field.is_empty());
        }
        Err(DataError::Label { file, .. }) => assert_eq!(file, labels_file),
        Err(e) => panic!("unexpected error {e}"),
    }
});
