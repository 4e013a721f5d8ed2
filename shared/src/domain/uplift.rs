//! Uplift against the holdout: what a kind of message added over not sending it. The treated
//! got the message; the held-out would have got it and did not (they are measured from the
//! time their message would have gone). Each group's conversion is the share of its customers
//! who ordered within the attribution window.

/// Fewer customers than this in either group: the figures would mostly be noise.
pub const MIN_CUSTOMERS_PER_GROUP: u64 = 100;
/// The normal quantile of a two-sided 95% interval.
const Z_95: f64 = 1.959_963_984_540_054;

/// One group's outcome within the window, in one currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupOutcome {
    pub customers: u64,
    /// Customers who ordered within the window.
    pub converted: u64,
    /// What they spent within the window, in minor units.
    pub revenue_minor: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Uplift {
    /// Either group is below [`MIN_CUSTOMERS_PER_GROUP`].
    NotEnoughData {
        treated: u64,
        held_out: u64,
    },
    Measured(Measured),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub treated_rate: f64,
    pub held_out_rate: f64,
    /// Conversions among the treated that the held-out rate says would not have happened.
    pub incremental_orders: f64,
    /// Revenue per treated customer above the held-out's, times the treated customers.
    pub incremental_revenue_minor: i64,
    /// The difference in conversion relative to the held-out rate, in percent; none when no
    /// held-out customer converted (there is nothing to be relative to).
    pub uplift_percent: Option<f64>,
    /// The 95% interval of the uplift in percent (the two-proportion interval of the
    /// difference, relative to the held-out rate).
    pub uplift_interval_percent: Option<(f64, f64)>,
    /// The 95% interval of the difference in conversion, in percentage points.
    pub difference_interval_points: (f64, f64),
}

/// The one sentence the overview shows under the uplift figures.
pub const HOW_UPLIFT_IS_COMPUTED: &str = "Uplift is the share of customers who got the email and ordered within the attribution window, minus that share in the holdout group (counted from when their email would have gone), relative to the holdout group share; the 95% interval is the normal two-proportion interval of that difference.";

pub fn uplift(treated: GroupOutcome, held_out: GroupOutcome) -> Uplift {
    if treated.customers < MIN_CUSTOMERS_PER_GROUP || held_out.customers < MIN_CUSTOMERS_PER_GROUP {
        return Uplift::NotEnoughData {
            treated: treated.customers,
            held_out: held_out.customers,
        };
    }
    let rate = |g: GroupOutcome| g.converted.min(g.customers) as f64 / g.customers as f64;
    let (p_t, p_c) = (rate(treated), rate(held_out));
    let (n_t, n_c) = (treated.customers as f64, held_out.customers as f64);
    let difference = p_t - p_c;
    let standard_error = (p_t * (1.0 - p_t) / n_t + p_c * (1.0 - p_c) / n_c).sqrt();
    let (low, high) = (
        difference - Z_95 * standard_error,
        difference + Z_95 * standard_error,
    );
    let per_customer = |g: GroupOutcome| g.revenue_minor as f64 / g.customers as f64;
    let relative = (p_c > 0.0).then_some(p_c);
    Measured {
        treated_rate: p_t,
        held_out_rate: p_c,
        incremental_orders: difference * n_t,
        incremental_revenue_minor: ((per_customer(treated) - per_customer(held_out)) * n_t).round()
            as i64,
        uplift_percent: relative.map(|p| difference / p * 100.0),
        uplift_interval_percent: relative.map(|p| (low / p * 100.0, high / p * 100.0)),
        difference_interval_points: (low * 100.0, high * 100.0),
    }
    .into()
}

impl From<Measured> for Uplift {
    fn from(measured: Measured) -> Self {
        Uplift::Measured(measured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64) {
        assert!((got - want).abs() < 0.01, "{got} is not {want}");
    }

    #[test]
    fn measures_uplift_with_a_two_proportion_interval_against_hand_computed_figures() {
        // Treated: 80 of 1000 ordered (8%), spending 4000.00; held out: 10 of 200 (5%), 400.00.
        let got = uplift(
            GroupOutcome {
                customers: 1000,
                converted: 80,
                revenue_minor: 400_000,
            },
            GroupOutcome {
                customers: 200,
                converted: 10,
                revenue_minor: 40_000,
            },
        );
        let Uplift::Measured(m) = got else {
            panic!("{got:?}")
        };
        close(m.treated_rate, 0.08);
        close(m.held_out_rate, 0.05);
        // 3 points more conversion over 1000 treated customers: 30 orders.
        close(m.incremental_orders, 30.0);
        // 4.00 per treated customer against 2.00 per held-out one, times 1000: 2000.00.
        assert_eq!(m.incremental_revenue_minor, 200_000);
        // 0.03 / 0.05 = 60%.
        close(m.uplift_percent.unwrap(), 60.0);
        // se = sqrt(0.08*0.92/1000 + 0.05*0.95/200) = sqrt(0.0003111) = 0.0176380;
        // 1.96 se = 0.034570: the difference lies in -0.457 .. 6.457 points,
        // which relative to 5% is -9.14% .. 129.14%.
        let (low, high) = m.difference_interval_points;
        close(low, -0.457);
        close(high, 6.457);
        let (low, high) = m.uplift_interval_percent.unwrap();
        close(low, -9.14);
        close(high, 129.14);
    }

    #[test]
    fn under_a_hundred_customers_in_either_group_there_is_not_enough_data() {
        let big = GroupOutcome {
            customers: 100,
            converted: 5,
            revenue_minor: 0,
        };
        let small = GroupOutcome {
            customers: 99,
            ..big
        };
        assert_eq!(
            uplift(big, small),
            Uplift::NotEnoughData {
                treated: 100,
                held_out: 99
            }
        );
        assert_eq!(
            uplift(small, big),
            Uplift::NotEnoughData {
                treated: 99,
                held_out: 100
            }
        );
        assert!(matches!(uplift(big, big), Uplift::Measured(_)));
    }

    #[test]
    fn no_held_out_conversion_leaves_the_relative_uplift_unsaid() {
        let got = uplift(
            GroupOutcome {
                customers: 100,
                converted: 4,
                revenue_minor: 10_000,
            },
            GroupOutcome {
                customers: 100,
                converted: 0,
                revenue_minor: 0,
            },
        );
        let Uplift::Measured(m) = got else {
            panic!("{got:?}")
        };
        assert_eq!(m.uplift_percent, None);
        assert_eq!(m.uplift_interval_percent, None);
        close(m.incremental_orders, 4.0);
        // se = sqrt(0.04*0.96/100) = 0.019596; 1.96 se = 0.038408.
        close(m.difference_interval_points.0, 0.159);
        close(m.difference_interval_points.1, 7.841);
    }
}
