//! ImageFolder datasets (torchvision's layout): `ROOT/<class>/<file>.{jpg,jpeg,png}`, classes
//! in sorted folder-name order (label 0 is the first name), files in sorted name order. Other
//! files (and hidden entries) are ignored; a class folder without images is an error.
//! Images are decoded in parallel and must have the model's width and height exactly.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageFormat, ImageReader};
use rayon::prelude::*;

use super::{list_dir, read_limited, DataError, DataFormat, Dataset, LoadOptions, Sample};
use crate::nn::Shape;

/// Extensions read, compared case-insensitively.
pub const EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// Reads an ImageFolder rooted at `root`.
pub fn load(root: &Path, options: LoadOptions) -> Result<Dataset, DataError> {
    let classes: Vec<PathBuf> = list_dir(root)?
        .into_iter()
        .filter(|p| p.is_dir() && !is_hidden(p))
        .collect();
    if classes.is_empty() {
        return Err(DataError::Layout {
            path: root.to_path_buf(),
            problem: "no class folders".to_string(),
        });
    }
    let mut files = Vec::new();
    for (label, folder) in classes.iter().enumerate() {
        let images: Vec<PathBuf> = list_dir(folder)?
            .into_iter()
            .filter(|p| p.is_file() && !is_hidden(p) && has_image_extension(p))
            .collect();
        if images.is_empty() {
            return Err(DataError::EmptyClass {
                folder: folder.clone(),
            });
        }
        let keep = options.per_class.unwrap_or(usize::MAX);
        files.extend(images.into_iter().take(keep).map(|f| (label, f)));
    }
    let shape = options.shape;
    let decoded: Vec<Result<Sample, DataError>> = files
        .par_iter()
        .map(|(label, file)| {
            let pixels = decode(file, shape)?;
            let origin = file
                .strip_prefix(root)
                .unwrap_or(file)
                .to_string_lossy()
                .into_owned();
            Ok(Sample {
                label: *label,
                origin,
                pixels,
            })
        })
        .collect();
    let samples = decoded.into_iter().collect::<Result<Vec<_>, _>>()?;
    let names = classes
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect::<Vec<_>>();
    Ok(Dataset {
        source: root.to_path_buf(),
        format: DataFormat::ImageFolder,
        shape,
        classes: names,
        samples,
    })
}

/// Decodes one image to `shape.channels` channels (1: grey, 3: RGB) in CHW order, checking its
/// size against `shape`.
pub fn decode(file: &Path, shape: Shape) -> Result<Vec<u8>, DataError> {
    let bytes = read_limited(file)?;
    decode_bytes(&bytes, file, shape)
}

/// [`decode`] of an image file's bytes in memory; `file` names them in errors. The size is
/// read from the header and checked against `shape` before any pixel is decoded, so the
/// decoder allocates for `shape` only.
pub fn decode_bytes(bytes: &[u8], file: &Path, shape: Shape) -> Result<Vec<u8>, DataError> {
    let bad = |message: String| DataError::Decode {
        file: file.to_path_buf(),
        message,
    };
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| bad(e.to_string()))?;
    if reader.format() == Some(ImageFormat::Jpeg) && !jpeg_complete(bytes) {
        return Err(bad(
            "the JPEG data ends before its end-of-image marker (a truncated file)".to_string(),
        ));
    }
    let (got_width, got_height) = reader.into_dimensions().map_err(|e| bad(e.to_string()))?;
    let (width, height) = (shape.width as u32, shape.height as u32);
    if (got_width, got_height) != (width, height) {
        return Err(DataError::ImageSize {
            file: file.to_path_buf(),
            width,
            height,
            got_width,
            got_height,
        });
    }
    let image = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| bad(e.to_string()))?
        .decode()
        .map_err(|e| bad(e.to_string()))?;
    to_chw(&image, shape.channels).ok_or_else(|| {
        bad(format!(
            "the model takes {} channels; only 1 (grey) and 3 (RGB) are supported",
            shape.channels
        ))
    })
}

/// Whether JPEG `bytes` run to the image's end-of-image marker (EOI). The decoder fills the
/// missing part of a JPEG cut short in its entropy-coded data with made-up pixels, without an
/// error, so a truncated file would be classified silently. Walks the marker segments from SOI
/// (each skipped by its length, so a thumbnail inside APP1 is skipped whole) and the
/// entropy-coded data after each SOS (where a 0xFF byte is stuffed as `FF 00` or starts a
/// restart marker) up to EOI; bytes after EOI are allowed.
fn jpeg_complete(bytes: &[u8]) -> bool {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return false;
    }
    let mut i = 2;
    loop {
        // a marker: 0xFF, any 0xFF fill bytes, then its code
        if bytes.get(i) != Some(&0xFF) {
            return false;
        }
        while bytes.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&code) = bytes.get(i) else {
            return false;
        };
        i += 1;
        match code {
            0xD9 => return true,
            // standalone markers: TEM, RST0..RST7
            0x01 | 0xD0..=0xD7 => {}
            _ => {
                let Some(&[high, low]) = bytes.get(i..i + 2) else {
                    return false;
                };
                let length = usize::from(u16::from_be_bytes([high, low]));
                if length < 2 {
                    return false;
                }
                i += length;
                if code == 0xDA {
                    // entropy-coded data, up to the next marker that is not stuffing or RSTn
                    loop {
                        match bytes.get(i..i + 2) {
                            None => return false,
                            Some([0xFF, 0x00]) | Some([0xFF, 0xD0..=0xD7]) => i += 2,
                            Some([0xFF, _]) => break,
                            Some(_) => i += 1,
                        }
                    }
                }
            }
        }
    }
}

fn to_chw(image: &DynamicImage, channels: usize) -> Option<Vec<u8>> {
    let interleaved = match channels {
        1 => image.to_luma8().into_raw(),
        3 => image.to_rgb8().into_raw(),
        _ => return None,
    };
    let plane = interleaved.len() / channels;
    let mut chw = vec![0u8; interleaved.len()];
    for (i, &v) in interleaved.iter().enumerate() {
        chw[(i % channels) * plane + i / channels] = v;
    }
    Some(chw)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

fn has_image_extension(path: &Path) -> bool {
    path.extension().is_some_and(|e| {
        let e = e.to_string_lossy().to_ascii_lowercase();
        EXTENSIONS.contains(&e.as_str())
    })
}
