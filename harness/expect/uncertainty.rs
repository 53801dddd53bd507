//! Uncertainty budget of a gravimetric volume (GUM method): the volume delivered between two
//! balance readings, its standard uncertainty term by term, combined, and expanded (k = 2).
//!
//! V = ΔI · (1 − ρa/ρb) / (ρw − ρa) + E/ρw, where ΔI is the difference of the two indications
//! (g), ρa the air density, ρb the density of the weights the balance was adjusted with, ρw the
//! fluid density at the run's temperature and E the mass evaporated meanwhile (when declared:
//! a default rate only widens the budget). Every term is converted to µL; terms are
//! independent, so they combine root-sum-square. docs/metrology.md gives each default's source.

/// Water density, g/mL, at whole degrees 15-30 °C (air-free water at 101.325 kPa; Tanaka et al.,
/// Metrologia 38 (2001) 301, the CIPM formula), rounded to 1e-6 g/mL.
const WATER_G_PER_ML: [(f64, f64); 16] = [
    (15.0, 0.999_103),
    (16.0, 0.998_946),
    (17.0, 0.998_778),
    (18.0, 0.998_598),
    (19.0, 0.998_408),
    (20.0, 0.998_207),
    (21.0, 0.997_995),
    (22.0, 0.997_773),
    (23.0, 0.997_541),
    (24.0, 0.997_299),
    (25.0, 0.997_047),
    (26.0, 0.996_786),
    (27.0, 0.996_516),
    (28.0, 0.996_236),
    (29.0, 0.995_947),
    (30.0, 0.995_650),
];

/// 0.9 % saline is 1.0046 g/mL at 22 °C (domain.md); its density follows water's temperature
/// slope closely at this dilution, so the table is water's shifted by the difference at 22 °C.
const SALINE_AT_22_G_PER_ML: f64 = 1.0046;

/// Standard uncertainty of a tabulated density: water's table is far better than this; the
/// saline shift stands for preparation (9 g/L ± a few per cent of the salt).
const WATER_TABLE_U_G_PER_ML: f64 = 0.000_01;
const SALINE_TABLE_U_G_PER_ML: f64 = 0.000_2;

/// Conventional air density (OIML R 111) and density of stainless-steel weights, g/mL.
pub const AIR_G_PER_ML: f64 = 0.0012;
pub const WEIGHTS_G_PER_ML: f64 = 8.0;
/// Air density varies a few per cent with pressure, temperature and humidity.
const AIR_U_G_PER_ML: f64 = 0.000_05;

/// Default evaporation when none is declared, mg/h: orders of magnitude (docs/metrology.md).
pub const DEFAULT_EVAPORATION_OPEN_MG_PER_H: f64 = 2.0;
pub const DEFAULT_EVAPORATION_OIL_FILM_MG_PER_H: f64 = 0.1;

/// The fluid on the balance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fluid {
    Water,
    /// 0.9 % sodium chloride.
    Saline,
    /// A measured density with its standard uncertainty; no temperature dependence applied.
    Declared {
        g_per_ml: f64,
        u_g_per_ml: f64,
    },
    /// A density declared at a reference temperature (a scenario's `density_g_per_ml`, at
    /// 22 °C): at another temperature it moves along water's slope, as saline's does.
    DeclaredAt {
        g_per_ml: f64,
        u_g_per_ml: f64,
        at_c: f64,
    },
}

impl Fluid {
    /// Density at a temperature (linear between table rows, clamped to 15-30 °C) and its slope.
    pub fn density(self, temperature_c: f64) -> (f64, f64) {
        let (table_rho, slope) = water(temperature_c);
        match self {
            Fluid::Water => (table_rho, slope),
            Fluid::Saline => (table_rho + SALINE_AT_22_G_PER_ML - water(22.0).0, slope),
            Fluid::Declared { g_per_ml, .. } => (g_per_ml, 0.0),
            Fluid::DeclaredAt { g_per_ml, at_c, .. } => {
                (g_per_ml + table_rho - water(at_c).0, slope)
            }
        }
    }

    fn table_u(self) -> f64 {
        match self {
            Fluid::Water => WATER_TABLE_U_G_PER_ML,
            Fluid::Saline => SALINE_TABLE_U_G_PER_ML,
            Fluid::Declared { u_g_per_ml, .. } | Fluid::DeclaredAt { u_g_per_ml, .. } => u_g_per_ml,
        }
    }
}

/// Water density and dρ/dT (g/mL per °C) by linear interpolation in the table.
fn water(temperature_c: f64) -> (f64, f64) {
    let t = temperature_c.clamp(15.0, 30.0);
    let i = ((t - 15.0).floor() as usize).min(WATER_G_PER_ML.len() - 2);
    let ((t0, r0), (_, r1)) = (WATER_G_PER_ML[i], WATER_G_PER_ML[i + 1]);
    let slope = r1 - r0;
    (r0 + slope * (t - t0), slope)
}

/// Evaporation from the vessel during the measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaporation {
    /// Declared loss rate, mg/h; None takes the default for `oil_film`.
    pub declared_mg_per_h: Option<f64>,
    pub oil_film: bool,
}

impl Evaporation {
    pub fn rate_mg_per_h(&self) -> f64 {
        self.declared_mg_per_h.unwrap_or(if self.oil_film {
            DEFAULT_EVAPORATION_OIL_FILM_MG_PER_H
        } else {
            DEFAULT_EVAPORATION_OPEN_MG_PER_H
        })
    }
}

/// What the budget needs: the two readings' difference and the bench's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetInput {
    /// End indication minus start indication, g.
    pub mass_difference_g: f64,
    /// Time between the two readings, h (for evaporation).
    pub elapsed_h: f64,
    /// Readability d, mg: each reading is rounded to d.
    pub readability_mg: f64,
    /// Repeatability s (one standard deviation of a reading), mg.
    pub repeatability_mg: f64,
    /// Calibration certificate: expanded uncertainty U, mg, and its coverage factor.
    pub calibration: Option<(f64, f64)>,
    pub fluid: Fluid,
    pub temperature_c: f64,
    /// Standard uncertainty of the fluid temperature, °C.
    pub temperature_u_c: f64,
    pub evaporation: Evaporation,
}

impl BudgetInput {
    /// A budget input whose balance figures are the emulated balance's own (readability,
    /// repeatability = its noise, declared evaporation = its loss rate, no oil film assumed),
    /// so that a run on the emulator exercises the budget with the figures it simulates.
    pub fn for_emulated_balance(
        balance: &crate::emulator::config::BalanceParams,
        mass_difference_g: f64,
        elapsed_h: f64,
        fluid: Fluid,
        temperature_c: f64,
    ) -> BudgetInput {
        BalanceFigures::emulated(balance).input(mass_difference_g, elapsed_h, fluid, temperature_c)
    }
}

/// The temperature a run's density is taken at when neither the scenario nor the bench
/// declares one, °C.
pub const DEFAULT_TEMPERATURE_C: f64 = 22.0;
/// Standard uncertainty of the fluid temperature: a room thermometer near the vessel.
pub const TEMPERATURE_U_C: f64 = 0.5;
/// Range of the density table; a temperature outside it is refused where it is read.
pub const TEMPERATURE_RANGE_C: (f64, f64) = crate::units::nominal::FLUID_TEMPERATURE_RANGE_C;

/// A bench's balance figures for the budget, with where each came from (the report's budget
/// table names the source beside each term).
#[derive(Debug, Clone, PartialEq)]
pub struct BalanceFigures {
    pub readability_mg: f64,
    pub repeatability_mg: f64,
    /// Calibration certificate: expanded uncertainty U, mg, and its coverage factor.
    pub calibration: Option<(f64, f64)>,
    pub evaporation: Evaporation,
    /// The bench's fluid temperature, °C, when it declares one (it wins over the scenario's).
    pub temperature_c: Option<f64>,
    /// Where the balance figures come from: "the emulated balance", "bench file bench.toml".
    pub source: String,
}

impl Default for BalanceFigures {
    fn default() -> Self {
        BalanceFigures::emulated(&crate::emulator::config::BalanceParams::default())
    }
}

impl BalanceFigures {
    /// The emulated balance's own figures: readability, repeatability = its noise, declared
    /// evaporation = its loss rate, no certificate.
    pub fn emulated(balance: &crate::emulator::config::BalanceParams) -> BalanceFigures {
        BalanceFigures {
            readability_mg: balance.readability_mg,
            repeatability_mg: balance.noise_mg,
            calibration: None,
            evaporation: Evaporation {
                declared_mg_per_h: Some(balance.evaporation_mg_per_h),
                oil_film: false,
            },
            temperature_c: None,
            source: "the emulated balance".to_string(),
        }
    }

    /// The budget input for a mass difference over a time, at a temperature.
    pub fn input(
        &self,
        mass_difference_g: f64,
        elapsed_h: f64,
        fluid: Fluid,
        temperature_c: f64,
    ) -> BudgetInput {
        BudgetInput {
            mass_difference_g,
            elapsed_h,
            readability_mg: self.readability_mg,
            repeatability_mg: self.repeatability_mg,
            calibration: self.calibration,
            fluid,
            temperature_c,
            temperature_u_c: TEMPERATURE_U_C,
            evaporation: self.evaporation,
        }
    }
}

/// One line of the budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub name: &'static str,
    /// How the term was evaluated, for the report's budget table.
    pub basis: String,
    pub standard_uncertainty_ul: f64,
}

/// A gravimetric volume with its budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// The volume, corrected for buoyancy and for a declared evaporation, µL.
    pub volume_ul: f64,
    /// Fluid density used, g/mL.
    pub density_g_per_ml: f64,
    pub terms: Vec<Term>,
    /// Combined standard uncertainty u_c, µL.
    pub combined_ul: f64,
    pub coverage_factor: f64,
    /// Expanded uncertainty U = k · u_c, µL.
    pub expanded_ul: f64,
}

/// The budget of a volume computed from a mass difference.
pub fn volume_budget(input: &BudgetInput) -> Budget {
    let (rho, slope) = input.fluid.density(input.temperature_c);
    let buoyancy = (1.0 - AIR_G_PER_ML / WEIGHTS_G_PER_ML) / (rho - AIR_G_PER_ML);
    // mL per g of indication, times 1000 for µL per g; mg → g is 1e-3, so µL per mg is this.
    let ul_per_mg = buoyancy;
    let evaporated_mg = input.evaporation.rate_mg_per_h() * input.elapsed_h.max(0.0);
    // Only a declared (measured) loss is corrected for; a default one only widens the budget.
    let corrected = input.evaporation.declared_mg_per_h.is_some();
    let correction_ul = if corrected { evaporated_mg / rho } else { 0.0 };
    let volume_ul = input.mass_difference_g * 1e3 * buoyancy + correction_ul;
    let sqrt12 = 12f64.sqrt();
    let mut terms = vec![
        Term {
            name: "readability",
            basis: format!(
                "two readings rounded to {} mg: √2 · d/√12",
                input.readability_mg
            ),
            standard_uncertainty_ul: 2f64.sqrt() * input.readability_mg / sqrt12 * ul_per_mg,
        },
        Term {
            name: "repeatability",
            basis: format!(
                "two readings, s = {} mg each: √2 · s",
                input.repeatability_mg
            ),
            standard_uncertainty_ul: 2f64.sqrt() * input.repeatability_mg * ul_per_mg,
        },
    ];
    if let Some((expanded_mg, k)) = input.calibration {
        terms.push(Term {
            name: "calibration",
            basis: format!("certificate U = {expanded_mg} mg (k = {k}): U/k"),
            standard_uncertainty_ul: expanded_mg / k * ul_per_mg,
        });
    }
    let u_rho = (input.fluid.table_u().powi(2) + (slope * input.temperature_u_c).powi(2)).sqrt();
    terms.push(Term {
        name: "density",
        basis: format!(
            "ρ = {rho:.6} g/mL at {} °C; table u = {} g/mL, dρ/dT = {slope:.6} g/mL/°C × u(T) = {} °C",
            input.temperature_c,
            input.fluid.table_u(),
            input.temperature_u_c
        ),
        standard_uncertainty_ul: volume_ul.abs() * u_rho / (rho - AIR_G_PER_ML),
    });
    terms.push(Term {
        name: "evaporation",
        basis: format!(
            "{} mg/h{} over {:.3} h, {}; E/√3 (rectangular, as wide as the loss itself)",
            input.evaporation.rate_mg_per_h(),
            if input.evaporation.oil_film {
                " under an oil film"
            } else {
                ", open vessel"
            },
            input.elapsed_h,
            if corrected {
                "declared and added back"
            } else {
                "a default, not corrected for"
            }
        ),
        standard_uncertainty_ul: evaporated_mg / rho / 3f64.sqrt(),
    });
    // ∂V/∂ρa = ΔI · (1/ρb · … ) ≈ V · (1/(ρw − ρa) − 1/(ρb − ρa)).
    let buoyancy_sensitivity = 1.0 / (rho - AIR_G_PER_ML) - 1.0 / (WEIGHTS_G_PER_ML - AIR_G_PER_ML);
    terms.push(Term {
        name: "buoyancy",
        basis: format!(
            "corrected with air {AIR_G_PER_ML} g/mL, weights {WEIGHTS_G_PER_ML} g/mL; u(ρa) = {AIR_U_G_PER_ML} g/mL"
        ),
        standard_uncertainty_ul: (input.mass_difference_g * 1e3 * buoyancy).abs()
            * AIR_U_G_PER_ML
            * buoyancy_sensitivity,
    });
    let combined_ul = terms
        .iter()
        .map(|t| t.standard_uncertainty_ul.powi(2))
        .sum::<f64>()
        .sqrt();
    Budget {
        volume_ul,
        density_g_per_ml: rho,
        terms,
        combined_ul,
        coverage_factor: 2.0,
        expanded_ul: 2.0 * combined_ul,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn density_tables_give_the_documented_figures() {
        assert!(close(Fluid::Water.density(20.0).0, 0.998_207, 1e-9));
        assert!(close(Fluid::Saline.density(22.0).0, 1.0046, 1e-9));
        // Halfway between 24 and 25 °C; the slope there is 0.997047 − 0.997299.
        let (rho, slope) = Fluid::Water.density(24.5);
        assert!(close(rho, 0.997_173, 1e-9));
        assert!(close(slope, -0.000_252, 1e-9));
        // Saline at 25 °C: 0.997047 + (1.0046 − 0.997773) = 1.003874.
        assert!(close(Fluid::Saline.density(25.0).0, 1.003_874, 1e-9));
        // A density declared at 22 °C moves along water's slope: saline declared is saline.
        let declared = Fluid::DeclaredAt {
            g_per_ml: 1.0046,
            u_g_per_ml: 0.0002,
            at_c: 22.0,
        };
        assert!(close(declared.density(22.0).0, 1.0046, 1e-9));
        assert_eq!(declared.density(25.0), Fluid::Saline.density(25.0));
    }

    /// 1 g of water at 20 °C over 2 h, 0.1 mg balance, calibration U = 0.2 mg (k = 2), oil
    /// film at the default 0.1 mg/h, u(T) = 0.5 °C. By hand:
    /// buoyancy factor b = (1 − 0.0012/8)/(0.998207 − 0.0012) = 0.99985/0.997007 = 1.0028516 µL/mg
    /// V = 1000 mg · b = 1002.8515 µL (the 0.2 mg evaporated is a default: not added back)
    /// readability √2 · 0.1/√12 · b = 0.040940 µL; repeatability √2 · 0.1 · b = 0.141824 µL
    /// calibration 0.1 · b = 0.100285 µL
    /// density: slope (20→21 °C) = −0.000212; u(ρ) = √(1e-5² + (0.000212 · 0.5)²) = 0.00010647;
    ///   V · u(ρ)/(ρ − ρa) = 1002.8515 · 0.00010647/0.997007 = 0.107095 µL
    /// evaporation 0.2 mg/0.998207/√3 = 0.115677 µL
    /// buoyancy 1002.8516 · 5e-5 · (1/0.997007 − 1/7.9988) = 0.044024 µL
    /// u_c = √(Σ u²) = 0.242149 µL, U = 0.484298 µL
    #[test]
    fn a_one_gram_budget_by_hand() {
        let budget = volume_budget(&BudgetInput {
            mass_difference_g: 1.0,
            elapsed_h: 2.0,
            readability_mg: 0.1,
            repeatability_mg: 0.1,
            calibration: Some((0.2, 2.0)),
            fluid: Fluid::Water,
            temperature_c: 20.0,
            temperature_u_c: 0.5,
            evaporation: Evaporation {
                declared_mg_per_h: None,
                oil_film: true,
            },
        });
        assert!(close(budget.volume_ul, 1002.8515, 1e-3), "{budget:?}");
        let u = |name: &str| {
            budget
                .terms
                .iter()
                .find(|t| t.name == name)
                .map(|t| t.standard_uncertainty_ul)
                .unwrap_or(f64::NAN)
        };
        assert!(close(u("readability"), 0.040_940, 1e-5));
        assert!(close(u("repeatability"), 0.141_824, 1e-5));
        assert!(close(u("calibration"), 0.100_285, 1e-5));
        assert!(close(u("density"), 0.107_095, 1e-5));
        assert!(close(u("evaporation"), 0.115_677, 1e-5));
        assert!(close(u("buoyancy"), 0.044_024, 1e-5));
        assert!(close(budget.combined_ul, 0.242_149, 1e-5), "{budget:?}");
        assert!(close(budget.expanded_ul, 2.0 * budget.combined_ul, 1e-12));
    }

    #[test]
    fn the_emulated_balance_feeds_its_own_figures() {
        let params = crate::emulator::config::BalanceParams {
            noise_mg: 0.3,
            evaporation_mg_per_h: 0.0,
            ..Default::default()
        };
        let input = BudgetInput::for_emulated_balance(&params, 0.5, 1.0, Fluid::Saline, 22.0);
        let budget = volume_budget(&input);
        let u = |name: &str| {
            budget
                .terms
                .iter()
                .find(|t| t.name == name)
                .unwrap()
                .standard_uncertainty_ul
        };
        // Repeatability √2 · 0.3 mg = 0.42426 mg; b = 0.99985/(1.0046 − 0.0012) = 0.996462 µL/mg.
        assert!(close(u("repeatability"), 0.424_26 * 0.996_462, 1e-5));
        // No declared evaporation: nothing added back, no uncertainty from it.
        assert_eq!(u("evaporation"), 0.0);
    }

    #[test]
    fn an_open_vessel_counts_more_evaporation_than_an_oil_film() {
        let input = |oil_film| BudgetInput {
            mass_difference_g: 0.05,
            elapsed_h: 1.0,
            readability_mg: 0.1,
            repeatability_mg: 0.1,
            calibration: None,
            fluid: Fluid::Saline,
            temperature_c: 22.0,
            temperature_u_c: 0.5,
            evaporation: Evaporation {
                declared_mg_per_h: None,
                oil_film,
            },
        };
        let open = volume_budget(&input(false));
        let film = volume_budget(&input(true));
        assert!(open.expanded_ul > film.expanded_ul);
        // Open vessel, 2 mg in the hour: evaporation alone is 2/1.0046/√3 = 1.1494 µL.
        let evaporation = open.terms.iter().find(|t| t.name == "evaporation").unwrap();
        assert!(close(evaporation.standard_uncertainty_ul, 1.1494, 1e-4));
        // Defaults are not corrected for: both volumes are the buoyancy-corrected 50 mg.
        assert!(close(open.volume_ul, film.volume_ul, 1e-12));
        let declared = volume_budget(&BudgetInput {
            evaporation: Evaporation {
                declared_mg_per_h: Some(2.0),
                oil_film: false,
            },
            ..input(false)
        });
        // A declared 2 mg/h is added back: 2 mg / 1.0046 g/mL = 1.9908 µL more.
        assert!(close(declared.volume_ul - open.volume_ul, 1.990_842, 1e-5));
        assert!(open.terms.iter().all(|t| t.name != "calibration"));
    }
}
