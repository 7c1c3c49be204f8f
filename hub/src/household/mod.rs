//! The household: who may do what to a cradle. A cradle has one owner and
//! any number of members, each a `parent` or a `viewer`. Plain Rust: the
//! HTTP extractors and the store apply these rules.

pub mod invites;

use serde::Serialize;

/// A person's role on one cradle, ordered by what it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Watches and sees alerts.
    Viewer,
    /// Also rocks the cradle, resolves alerts and changes alert settings.
    Parent,
    /// Also invites, manages members, hands ownership over, removes the cradle.
    Owner,
}

/// What a request needs to be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Watch,
    Operate,
    Own,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Parent => "parent",
            Role::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "parent" => Some(Role::Parent),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }

    /// A role a member (not the owner) can hold, as invites and role changes
    /// name it.
    pub fn parse_member(s: &str) -> Option<Role> {
        Role::parse(s).filter(|r| *r != Role::Owner)
    }

    pub fn may(self, need: Need) -> bool {
        self >= need.least_role()
    }
}

impl Need {
    pub fn least_role(self) -> Role {
        match self {
            Need::Watch => Role::Viewer,
            Need::Operate => Role::Parent,
            Need::Own => Role::Owner,
        }
    }
}

/// Who may remove `target` from a cradle: the owner removes anyone but
/// themselves; a member removes only themselves (leaving).
pub fn may_remove(actor: (i64, Role), target: (i64, Role)) -> Result<(), RemoveRefusal> {
    match (actor, target) {
        (_, (_, Role::Owner)) => Err(RemoveRefusal::OwnerStays),
        ((_, Role::Owner), _) => Ok(()),
        ((a, _), (t, _)) if a == t => Ok(()),
        _ => Err(RemoveRefusal::NotAllowed),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveRefusal {
    /// The owner cannot leave or be removed: ownership is handed over first.
    OwnerStays,
    /// Only the owner removes someone else.
    NotAllowed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_allows_what_it_should() {
        let table = [
            (Role::Viewer, [true, false, false]),
            (Role::Parent, [true, true, false]),
            (Role::Owner, [true, true, true]),
        ];
        for (role, allowed) in table {
            for (need, ok) in [Need::Watch, Need::Operate, Need::Own]
                .into_iter()
                .zip(allowed)
            {
                assert_eq!(role.may(need), ok, "{role:?} {need:?}");
            }
        }
    }

    #[test]
    fn roles_parse_and_members_cannot_be_named_owner() {
        for r in [Role::Viewer, Role::Parent, Role::Owner] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse_member("owner"), None);
        assert_eq!(Role::parse_member("parent"), Some(Role::Parent));
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn only_the_owner_removes_others_and_nobody_removes_the_owner() {
        assert_eq!(may_remove((1, Role::Owner), (2, Role::Parent)), Ok(()));
        assert_eq!(may_remove((2, Role::Viewer), (2, Role::Viewer)), Ok(()));
        assert_eq!(
            may_remove((2, Role::Parent), (3, Role::Viewer)),
            Err(RemoveRefusal::NotAllowed)
        );
        assert_eq!(
            may_remove((1, Role::Owner), (1, Role::Owner)),
            Err(RemoveRefusal::OwnerStays)
        );
        assert_eq!(
            may_remove((2, Role::Parent), (1, Role::Owner)),
            Err(RemoveRefusal::OwnerStays)
        );
    }
}
