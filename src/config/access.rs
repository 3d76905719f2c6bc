//! The access map's configuration (DESIGN §10): `[access]` and `[[forbid]]`, checked like the
//! rest of the file (each error names the line and the key).

use std::path::PathBuf;

use super::raw::{RawAccess, RawForbid};
use super::{ConfigError, Ctx, is_endpoint_id, is_mrap_alias, is_mrap_name};

/// Who is inside the zone of trust (IAM Access Analyzer's external-access model).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Zone {
    /// Principals of the MRAP's and the bucket's owner accounts (default).
    #[default]
    Account,
    /// Also every principal of this organization (`aws:PrincipalOrgID`).
    Organization(String),
}

/// `[access]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessConfig {
    pub accepted: Option<PathBuf>,
    pub zone: Zone,
    /// Most cells evaluated per bucket and path; beyond, the path is `unknown` and the map is
    /// not complete.
    pub max_cells: usize,
}

/// The default budget: well above what 5 buckets with 20-statement policies need, well below
/// what would make a cycle slow.
pub const DEFAULT_MAX_CELLS: usize = 200_000;

impl Default for AccessConfig {
    fn default() -> AccessConfig {
        AccessConfig { accepted: None, zone: Zone::Account, max_cells: DEFAULT_MAX_CELLS }
    }
}

/// One `[[forbid]]`: access that must never exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbid {
    pub name: String,
    /// An alias, a name, or `*`.
    pub mrap: String,
    pub callers: Vec<String>,
    /// Empty: every action.
    pub actions: Vec<String>,
    /// Empty: every path.
    pub paths: Vec<String>,
}

/// Whether `class` is a caller class a forbid may name.
pub fn is_caller_class(class: &str) -> bool {
    match class.split_once(':') {
        None => matches!(class, "anonymous" | "any-principal" | "any-other-account"),
        Some(("account", id)) => crate::util::is_account_id(id),
        Some(("org" | "outside-org", org)) => org.starts_with("o-") && org.len() > 2,
        Some(("principal", arn)) => crate::eval::Caller::parse(arn).is_ok_and(|c| !c.is_anonymous()),
        Some(_) => false,
    }
}

/// Whether `path` is a path pattern a forbid may name.
pub fn is_path_pattern(path: &str) -> bool {
    if path == "*" {
        return true;
    }
    match path.split_once(':') {
        Some(("mrap" | "bucket", door)) => door == "*" || door == "internet" || is_endpoint_id(door),
        _ => false,
    }
}

impl Ctx<'_> {
    pub(super) fn access(&self, raw: Option<&RawAccess>) -> Result<AccessConfig, ConfigError> {
        let Some(raw) = raw else { return Ok(AccessConfig::default()) };
        let zone = match &raw.zone_of_trust {
            None => Zone::Account,
            Some(z) => match z.get_ref().as_str() {
                "account" => Zone::Account,
                other => match other.strip_prefix("organization:") {
                    Some(org) if org.starts_with("o-") && org.len() > 2 => Zone::Organization(org.to_string()),
                    _ => {
                        return self.error(
                            Some(z.span()),
                            "access.zone_of_trust",
                            format!("`{other}` must be `account` or `organization:o-...`"),
                        );
                    }
                },
            },
        };
        let max_cells = match raw.max_cells {
            Some(0) => return self.error(None, "access.max_cells", "must be more than zero"),
            Some(n) => n,
            None => DEFAULT_MAX_CELLS,
        };
        Ok(AccessConfig { accepted: raw.accepted.as_ref().map(|a| self.path(a.get_ref())), zone, max_cells })
    }

    pub(super) fn forbids(&self, raw: &[RawForbid]) -> Result<Vec<Forbid>, ConfigError> {
        let mut out: Vec<Forbid> = Vec::with_capacity(raw.len());
        for (i, f) in raw.iter().enumerate() {
            let key = |field: &str| format!("forbid[{i}].{field}");
            let name = f.name.get_ref();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
                return self.error(
                    Some(f.name.span()),
                    &key("name"),
                    format!("`{name}`: use letters, digits, `-`, `_` and `.` (it becomes a metric label)"),
                );
            }
            if out.iter().any(|o| &o.name == name) {
                return self.error(Some(f.name.span()), &key("name"), format!("duplicate forbid name `{name}`"));
            }
            let mrap = f.mrap.as_ref().map_or_else(|| "*".to_string(), |m| m.get_ref().clone());
            if mrap != "*" && !is_mrap_alias(&mrap) && !is_mrap_name(&mrap) {
                return self.error(
                    f.mrap.as_ref().map(|m| m.span()),
                    &key("mrap"),
                    format!("`{mrap}` is neither `*`, an MRAP alias nor an MRAP name"),
                );
            }
            if f.callers.get_ref().is_empty() {
                return self.error(Some(f.callers.span()), &key("callers"), "name at least one caller class");
            }
            if let Some(bad) = f.callers.get_ref().iter().find(|c| !is_caller_class(c)) {
                return self.error(
                    Some(f.callers.span()),
                    &key("callers"),
                    format!("`{bad}` is not a caller class: `anonymous`, `any-principal`, `any-other-account`, `account:ID`, `principal:ARN`, `org:o-...` or `outside-org:o-...`"),
                );
            }
            if let Some(bad) = f.actions.iter().find(|a| !a.to_ascii_lowercase().starts_with("s3:") && *a != "*") {
                return self.error(
                    None,
                    &key("actions"),
                    format!("`{bad}` is not an S3 action such as `s3:GetObject` or `s3:Get*`"),
                );
            }
            if let Some(bad) = f.paths.iter().find(|p| !is_path_pattern(p)) {
                return self.error(
                    None,
                    &key("paths"),
                    format!("`{bad}` is not a path: `mrap:ENDPOINT`, `mrap:internet`, `bucket:internet`, `bucket:ENDPOINT`, `mrap:*`, `bucket:*` or `*`"),
                );
            }
            out.push(Forbid {
                name: name.clone(),
                mrap,
                callers: f.callers.get_ref().clone(),
                actions: f.actions.clone(),
                paths: f.paths.clone(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_classes_and_paths() {
        for good in [
            "anonymous",
            "any-principal",
            "any-other-account",
            "account:444455556666",
            "org:o-abc123",
            "outside-org:o-abc123",
            "principal:arn:aws:iam::444455556666:role/x",
        ] {
            assert!(is_caller_class(good), "{good}");
        }
        for bad in ["everyone", "account:12", "org:abc", "principal:anonymous"] {
            assert!(!is_caller_class(bad), "{bad}");
        }
        for good in ["*", "mrap:*", "bucket:internet", "mrap:vpce-0a1b2c3d4e5f60718"] {
            assert!(is_path_pattern(good), "{good}");
        }
        assert!(!is_path_pattern("door:internet"));
    }
}
