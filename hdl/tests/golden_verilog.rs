//! Golden snapshots of the Verilog the small blocks emit (insta): any change of the emitted
//! text fails this test with a diff, so a generator change is seen, and reviewed, as a diff of
//! the committed `tests/snapshots/golden_verilog__*.snap` files in the pull request.
//!
//! After an intended change of the emitted Verilog, update every snapshot with ONE command
//! (from the workspace root):
//!
//! ```text
//! INSTA_UPDATE=always cargo test -p heaccel-hdl --test golden_verilog
//! ```
//!
//! (or, with `cargo install cargo-insta`: `cargo insta test -p heaccel-hdl --test
//! golden_verilog --review`), then review `git diff hdl/tests/snapshots` and commit it with the
//! change. Under `CI=true` insta writes nothing: a missing or different snapshot fails.
//!
//! Each block at one or two small parameterizations (fixed primes, small NTT and automorphism
//! geometries) so every snapshot stays readable; the bundles' Verilog is exactly what
//! `heaccel verilog` writes into `top.v` after its header.

use heaccel_hdl::automorph::{AutomorphGeometry, AutomorphRouting, AutomorphUnit};
use heaccel_hdl::blocks::{
    automorph_bundle, automorph_bundle_of, butterfly_bundle, modmul_bundle, ntt_bundle,
};
use heaccel_hdl::core::EwLane;
use heaccel_hdl::{ModAdd, ModSub, NttGeometry, NttLane, Prime};
use rust_hdl::prelude::*;

/// The largest 30-bit NTT prime for `N = 2^14` (`ntt_primes(30, 14, 1, &[])[0]`), pinned so a
/// change of the prime search cannot change a snapshot: `q = 1 mod 2^15`, `q < 2^30`.
const Q30: u64 = 1_073_643_521;
/// The largest 34-bit NTT prime for `N = 2^14`, for the `W = 36` blocks.
const Q34: u64 = 17_179_672_577;

/// The regeneration command the bundles carry (it is not part of their Verilog).
const COMMAND: &str = "cargo test -p heaccel-hdl --test golden_verilog";

fn q30() -> Prime {
    Prime::new(Q30).unwrap()
}

fn q34() -> Prime {
    Prime::for_word(Q34, 36).unwrap()
}

/// The Verilog of a block as the bundles emit it: every port connected, then rust-hdl's
/// `generate_verilog`.
fn emit<B: Block>(mut block: B) -> String {
    block.connect_all();
    generate_verilog(&block)
}

#[test]
fn pinned_primes_are_the_ntt_primes() {
    use heaccel_verification::arith::ntt_primes;
    assert_eq!(ntt_primes(30, 14, 1, &[]).unwrap()[0], Q30);
    assert_eq!(ntt_primes(34, 14, 1, &[]).unwrap()[0], Q34);
}

#[test]
fn mod_add_and_sub() {
    insta::assert_snapshot!("mod_add_w32", emit(ModAdd::<32>::new(q30())));
    insta::assert_snapshot!("mod_sub_w32", emit(ModSub::<32>::new(q30())));
}

#[test]
fn modmul() {
    insta::assert_snapshot!(
        "modmul_w32",
        modmul_bundle::<32>(q30(), 3, 0, COMMAND).verilog
    );
    insta::assert_snapshot!(
        "modmul_w36",
        modmul_bundle::<36>(q34(), 3, 0, COMMAND).verilog
    );
}

#[test]
fn butterflies() {
    for inverse in [false, true] {
        let name = if inverse {
            "gs_butterfly"
        } else {
            "ct_butterfly"
        };
        insta::assert_snapshot!(
            format!("{name}_w32"),
            butterfly_bundle::<32>(q30(), 3, inverse, 0, COMMAND).verilog
        );
    }
}

#[test]
fn ntt_lane() {
    insta::assert_snapshot!("ntt_lane_w32", emit(NttLane::<32>::new(q30())));
}

#[test]
fn ntt_unit() {
    // N = 8 with 2 lanes (4 banks of 2 rows): the smallest two-lane unit.
    let geo = NttGeometry::new(3, 2).unwrap();
    insta::assert_snapshot!(
        "ntt_unit_w32_n8_p2",
        ntt_bundle::<32>(q30(), geo, 0, COMMAND).verilog
    );
}

#[test]
fn automorph_unit() {
    // N = 8 with 2 lanes (banks of 4 rows): the default Omega routing (one stage) and the
    // crossbar it replaces; N = 16 with 4 lanes: two stages, fused into 4:1 multiplexers on
    // the data side.
    let geo = AutomorphGeometry::new(3, 2).unwrap();
    insta::assert_snapshot!(
        "automorph_w32_n8_p2",
        automorph_bundle::<32>(q30(), geo, 0, COMMAND).verilog
    );
    let crossbar = AutomorphUnit::with_routing(geo, AutomorphRouting::Crossbar);
    insta::assert_snapshot!(
        "automorph_w32_n8_p2_crossbar",
        automorph_bundle_of::<32>(q30(), crossbar, 0, COMMAND).verilog
    );
    let geo = AutomorphGeometry::new(4, 4).unwrap();
    insta::assert_snapshot!(
        "automorph_w32_n16_p4",
        automorph_bundle::<32>(q30(), geo, 0, COMMAND).verilog
    );
}

#[test]
fn element_wise_lane() {
    insta::assert_snapshot!("ew_lane_w32", emit(EwLane::new(q30())));
}
