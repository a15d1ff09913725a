//! Reference lists that change by law on a given day: provinces merged on 1 July 2025,
//! ministries merged on 1 March 2025. A catalogue keeps every period, so records made under
//! an old structure stay readable and can be carried forward to the current one.

use std::collections::BTreeSet;
use std::fmt::Display;

use time::Date;

/// A member of a catalogue: something with a code that may be taken over by a successor.
pub trait Unit {
    type Code: Clone + Ord + Display;
    fn code(&self) -> Self::Code;
    fn successor(&self) -> Option<Self::Code>;
}

/// The units in force from `from` to `until` (both inclusive; `None`: still in force).
#[derive(Debug, Clone)]
pub struct Period<U> {
    pub from: Date,
    pub until: Option<Date>,
    pub units: Vec<U>,
}

impl<U> Period<U> {
    pub fn contains(&self, date: Date) -> bool {
        date >= self.from && self.until.is_none_or(|until| date <= until)
    }
}

/// A unit of one period with the units of the period before that it took over.
#[derive(Debug)]
pub struct Succession<'a, U> {
    pub unit: &'a U,
    pub predecessors: Vec<&'a U>,
}

#[derive(Debug, Clone)]
pub struct Catalog<U> {
    periods: Vec<Period<U>>,
}

impl<U: Unit> Catalog<U> {
    /// Checks that the periods follow each other without gap or overlap, that codes are
    /// unique within a period, and that every unit of a closed period names a successor that
    /// exists in the next one. The error says which rule broke, and where.
    pub fn new(periods: Vec<Period<U>>) -> Result<Self, String> {
        if periods.is_empty() {
            return Err("a catalogue needs at least one period".into());
        }
        for (index, period) in periods.iter().enumerate() {
            let mut seen = BTreeSet::new();
            for unit in &period.units {
                if !seen.insert(unit.code()) {
                    return Err(format!(
                        "code {} appears twice in the period from {}",
                        unit.code(),
                        period.from
                    ));
                }
            }
            let next = periods.get(index + 1);
            match (period.until, next) {
                (None, None) => {}
                (None, Some(_)) => {
                    return Err(format!(
                        "the period from {} is open but not last",
                        period.from
                    ));
                }
                (Some(until), None) => {
                    return Err(format!(
                        "the last period ends on {until}; it must stay open"
                    ));
                }
                (Some(until), Some(next)) => {
                    if until.next_day() != Some(next.from) {
                        return Err(format!(
                            "the period ending {until} must be followed by one starting the next day, not {}",
                            next.from
                        ));
                    }
                }
            }
            for unit in &period.units {
                match (unit.successor(), next) {
                    (None, None) => {}
                    (Some(successor), None) => {
                        return Err(format!(
                            "{} is in the current period and cannot have a successor ({successor})",
                            unit.code()
                        ));
                    }
                    (None, Some(_)) => {
                        return Err(format!(
                            "{} (period from {}) has no successor in the next period",
                            unit.code(),
                            period.from
                        ));
                    }
                    (Some(successor), Some(next)) => {
                        if !next.units.iter().any(|u| u.code() == successor) {
                            return Err(format!(
                                "{} names successor {successor}, which is not in the period from {}",
                                unit.code(),
                                next.from
                            ));
                        }
                    }
                }
            }
        }
        Ok(Self { periods })
    }

    pub fn periods(&self) -> &[Period<U>] {
        &self.periods
    }

    /// The period in force on `date`, or `None` before the catalogue's first period.
    pub fn period_at(&self, date: Date) -> Option<&Period<U>> {
        self.periods.iter().find(|p| p.contains(date))
    }

    /// The unit with `code` in force on `date`.
    pub fn find(&self, code: &U::Code, date: Date) -> Option<&U> {
        self.period_at(date)?
            .units
            .iter()
            .find(|unit| unit.code() == *code)
    }

    /// Follows the succession from the unit that had `code` on `recorded_on` to the unit
    /// that holds its territory or remit on `at`. Following backwards in time is refused.
    pub fn carry_forward(&self, code: &U::Code, recorded_on: Date, at: Date) -> Option<&U> {
        if at < recorded_on {
            return None;
        }
        let start = self.periods.iter().position(|p| p.contains(recorded_on))?;
        let mut unit = self
            .periods
            .get(start)?
            .units
            .iter()
            .find(|u| u.code() == *code)?;
        for period in self.periods.iter().skip(start + 1) {
            if period.from > at {
                break;
            }
            let successor = unit.successor()?;
            unit = period.units.iter().find(|u| u.code() == successor)?;
        }
        Some(unit)
    }

    /// Each unit of the period in force on `date` with the units of the previous period that
    /// it took over (empty for the first period).
    pub fn successions_at(&self, date: Date) -> Vec<Succession<'_, U>> {
        let Some(index) = self.periods.iter().position(|p| p.contains(date)) else {
            return Vec::new();
        };
        let previous = index.checked_sub(1).and_then(|i| self.periods.get(i));
        self.periods
            .get(index)
            .map(|period| {
                period
                    .units
                    .iter()
                    .map(|unit| Succession {
                        unit,
                        predecessors: previous
                            .map(|prev| {
                                prev.units
                                    .iter()
                                    .filter(|p| p.successor() == Some(unit.code()))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[derive(Debug)]
    struct Town(&'static str, Option<&'static str>);

    impl Unit for Town {
        type Code = &'static str;
        fn code(&self) -> &'static str {
            self.0
        }
        fn successor(&self) -> Option<&'static str> {
            self.1
        }
    }

    fn two_periods() -> Vec<Period<Town>> {
        vec![
            Period {
                from: date!(2000 - 01 - 01),
                until: Some(date!(2009 - 12 - 31)),
                units: vec![Town("A", Some("C")), Town("B", Some("C"))],
            },
            Period {
                from: date!(2010 - 01 - 01),
                until: None,
                units: vec![Town("C", None)],
            },
        ]
    }

    #[test]
    fn finds_units_by_date_and_carries_them_forward() -> Result<(), String> {
        let catalog = Catalog::new(two_periods())?;
        assert!(catalog.find(&"A", date!(2009 - 12 - 31)).is_some());
        assert!(catalog.find(&"A", date!(2010 - 01 - 01)).is_none());
        assert!(catalog.find(&"A", date!(1999 - 12 - 31)).is_none());
        let carried = catalog.carry_forward(&"B", date!(2005 - 06 - 01), date!(2020 - 01 - 01));
        assert_eq!(carried.map(|t| t.0), Some("C"));
        let same_period = catalog.carry_forward(&"B", date!(2005 - 06 - 01), date!(2006 - 01 - 01));
        assert_eq!(same_period.map(|t| t.0), Some("B"));
        assert!(
            catalog
                .carry_forward(&"C", date!(2020 - 01 - 01), date!(2005 - 01 - 01))
                .is_none()
        );
        let successions = catalog.successions_at(date!(2026 - 01 - 01));
        let predecessors: Vec<_> = successions
            .iter()
            .flat_map(|s| s.predecessors.iter().map(|p| p.0))
            .collect();
        assert_eq!(predecessors, ["A", "B"]);
        Ok(())
    }

    #[test]
    fn rejects_inconsistent_periods() {
        let mut missing_successor = two_periods();
        if let Some(first) = missing_successor.first_mut() {
            first.units.push(Town("D", Some("Z")));
        }
        let error = Catalog::new(missing_successor).err();
        assert_eq!(
            error.as_deref(),
            Some("D names successor Z, which is not in the period from 2010-01-01")
        );

        let mut gap = two_periods();
        if let Some(last) = gap.last_mut() {
            last.from = date!(2010 - 01 - 02);
        }
        assert!(Catalog::new(gap).is_err());

        let mut duplicate = two_periods();
        if let Some(last) = duplicate.last_mut() {
            last.units.push(Town("C", None));
        }
        assert!(Catalog::new(duplicate).is_err());
    }
}
