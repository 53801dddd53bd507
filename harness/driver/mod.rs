//! Host-side drivers: the typed async pump driver and the MT-SICS balance driver.

pub mod balance;
pub mod pump;
