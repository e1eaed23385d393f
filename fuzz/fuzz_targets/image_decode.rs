//! Fuzzes the ImageFolder image decoder (`image_folder::decode_bytes`: PNG or JPEG, size
//! checked against the model's `(3, 4, 4)` input before any pixel is decoded): any bytes are
//! decoded to 48 CHW pixels or refused with an error that names the file.
#![no_main]

use std::path::Path;

use heaccel_host::data::{image_folder, DataError};
use heaccel_host::nn::Shape;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = Path::new("fuzz.png");
    match image_folder::decode_bytes(data, file, Shape::new(3, 4, 4)) {
        Ok(pixels) => assert_eq!(pixels.len(), 48),
        Err(DataError::Decode { file: f, .. } | DataError::ImageSize { file: f, .. }) => {
            assert_eq!(f, file)
        }
        Err(e) => panic!("unexpected error {e}"),
    }
});
