//! Fuzzes the hardware-configuration TOML reader (`HwConfig::from_toml`, what `heaccel
//! simulate --config FILE` calls): any text is accepted or refused with an error that names
//! the source; an accepted configuration validates, round-trips through TOML and times a
//! small program without panicking.
#![no_main]

use heaccel_sim::isa::{Buffer, BufferRole, Instruction, Program};
use heaccel_sim::{simulate, HwConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match HwConfig::from_toml(text, "fuzz.toml") {
        Ok(config) => {
            config
                .validate("fuzz.toml")
                .expect("accepted configurations validate");
            let back = HwConfig::from_toml(&config.to_toml(), "back.toml");
            assert_eq!(back.as_ref(), Ok(&config));
            // N = 16 over one 17-bit prime (17 = 1 mod 32 is too small for 16-bit words).
            let mut p = Program::new(4, vec![65_537], 2);
            p.buffers.push(Buffer {
                name: "x".into(),
                limbs: 1,
                role: BufferRole::Input,
            });
            p.instructions = vec![
                Instruction::Load {
                    dst: 0,
                    buffer: 0,
                    limb: 0,
                },
                Instruction::Ntt {
                    slot: 0,
                    modulus: 0,
                },
                Instruction::Store {
                    src: 0,
                    buffer: 0,
                    limb: 0,
                },
            ];
            if let Err(e) = simulate(&p, &config) {
                assert!(e.to_string().starts_with("program: "), "{e}");
            }
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz.toml: "), "{e}"),
    }
});
