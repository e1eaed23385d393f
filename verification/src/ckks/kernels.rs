//! Which arithmetic back end each prime of a parameter set runs on this CPU, so a measured
//! figure can be traced to its code path.

use serde::Serialize;

use super::params::Parameters;
use crate::ntt::NttKernel;
use crate::rns::DotPath;

/// The kernels of one prime.
#[derive(Clone, Debug, Serialize)]
pub struct PrimeKernels {
    /// `"q"` (ciphertext modulus) or `"p"` (special prime).
    pub role: &'static str,
    /// Index in its chain, from 0.
    pub index: usize,
    /// Bit width of the prime.
    pub bits: u32,
    /// The forward and inverse NTT's back end.
    pub ntt: NttKernel,
    /// The key switch's digit-by-key dot product at the top level (all digits).
    pub key_switch_dot: DotPath,
    /// Slot-wise products (HMult's tensor product, PMult, ModDown's last step;
    /// [`crate::rns::mulmod`]): `Ifma52` for primes below `2^51` on CPUs with AVX-512 IFMA.
    pub slot_mul: DotPath,
}

/// The CPU and the kernels of every prime of a parameter set.
#[derive(Clone, Debug, Serialize)]
pub struct KernelReport {
    /// The CPU's model name (`/proc/cpuinfo`), or `"unknown"`.
    pub cpu: String,
    /// The x86-64 vector extensions the kernels look for that this CPU has, in that order:
    /// `avx2`, `avx512f`, `avx512dq`, `avx512ifma`.
    pub features: Vec<&'static str>,
    /// Threads the evaluator uses (rayon's global pool).
    pub threads: usize,
    /// One entry per prime: the `q` chain in order, then the special primes.
    pub primes: Vec<PrimeKernels>,
}

impl KernelReport {
    /// The kernels `params` runs here.
    pub fn of(params: &Parameters) -> KernelReport {
        let digits = params.dnum().max(1);
        let entry = |role, index, t: &crate::ntt::NttTable| PrimeKernels {
            role,
            index,
            bits: t.modulus().bits(),
            ntt: t.kernel(),
            key_switch_dot: DotPath::select(t.modulus().value(), digits),
            slot_mul: if crate::rns::mulmod::uses_ifma(t.modulus()) {
                DotPath::Ifma52
            } else {
                DotPath::Scalar
            },
        };
        let primes = params
            .q_tables()
            .iter()
            .enumerate()
            .map(|(i, t)| entry("q", i, t))
            .chain(
                params
                    .p_tables()
                    .iter()
                    .enumerate()
                    .map(|(i, t)| entry("p", i, t)),
            )
            .collect();
        KernelReport {
            cpu: cpu_model(),
            features: cpu_features(),
            threads: crate::threads::current_threads(),
            primes,
        }
    }

    /// One line per group of consecutive primes of one role, width and kernels, e.g.
    /// `q 1..=9: 40 bits, ntt ifma52, key-switch dot ifma52, products ifma52`.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut i = 0;
        while i < self.primes.len() {
            let p = &self.primes[i];
            let mut j = i;
            while j + 1 < self.primes.len() {
                let r = &self.primes[j + 1];
                if (r.role, r.bits, r.ntt, r.key_switch_dot, r.slot_mul)
                    != (p.role, p.bits, p.ntt, p.key_switch_dot, p.slot_mul)
                {
                    break;
                }
                j += 1;
            }
            let last = self.primes[j].index;
            let range = if last == p.index {
                format!("{}", p.index)
            } else {
                format!("{}..={last}", p.index)
            };
            lines.push(format!(
                "{} {range}: {} bits, ntt {:?}, key-switch dot {:?}, products {:?}",
                p.role, p.bits, p.ntt, p.key_switch_dot, p.slot_mul
            ));
            i = j + 1;
        }
        lines
    }
}

/// The CPU's model name from `/proc/cpuinfo`, or `"unknown"` where it cannot be read.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The vector extensions the kernels dispatch on that this CPU has.
pub fn cpu_features() -> Vec<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut f = Vec::new();
        if is_x86_feature_detected!("avx2") {
            f.push("avx2");
        }
        if is_x86_feature_detected!("avx512f") {
            f.push("avx512f");
        }
        if is_x86_feature_detected!("avx512dq") {
            f.push("avx512dq");
        }
        if is_x86_feature_detected!("avx512ifma") {
            f.push("avx512ifma");
        }
        f
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prime_is_reported_and_grouped() {
        let params = Parameters::preset("spencnn-n14").unwrap();
        let r = KernelReport::of(&params);
        assert_eq!(
            r.primes.len(),
            params.q_tables().len() + params.p_tables().len()
        );
        assert_eq!(r.primes[0].role, "q");
        assert_eq!(r.primes.last().unwrap().role, "p");
        // 33-bit q_0, twelve 31-bit primes, one 33-bit special prime: at least three groups.
        let lines = r.summary();
        assert!(lines.len() >= 3, "{lines:?}");
        assert!(lines[1].starts_with("q 1..=12: 31 bits"), "{lines:?}");
        // A 31-bit prime is below 2^52: the IFMA dot product runs exactly when the CPU has it.
        let ifma = r.features.contains(&"avx512ifma");
        assert_eq!(r.primes[1].key_switch_dot == DotPath::Ifma52, ifma);
        assert_eq!(r.primes[1].slot_mul == DotPath::Ifma52, ifma);
        assert!(!r.cpu.is_empty());
    }
}
