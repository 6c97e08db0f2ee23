//! The states of a transactional producer and the transitions between
//! them: the Java client's `TransactionManager.State` and its table.

use std::fmt;

/// Where a transactional producer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionState {
    /// No producer id yet: `init_transactions` comes first.
    Uninitialized,
    /// InitProducerId in progress (also the epoch bump after a transaction).
    Initializing,
    /// Between transactions.
    Ready,
    /// A transaction is open.
    InTransaction,
    /// Two-phase commit: flushed and prepared; only commit or abort may follow.
    PreparedTransaction,
    /// EndTxn(commit) in progress.
    Committing,
    /// EndTxn(abort) in progress.
    Aborting,
    /// The transaction failed; only an abort leaves this state.
    AbortableError,
    /// The producer cannot go on (fenced, unauthorized, ...): close it.
    FatalError,
}

impl TransactionState {
    /// Whether `self -> to` is a legal transition (Java's
    /// `isTransitionValid`). [`TransactionState::FatalError`] can always be
    /// reached and never left.
    pub fn may_become(self, to: TransactionState) -> bool {
        use TransactionState::*;
        if self == FatalError {
            return false;
        }
        match to {
            Uninitialized => matches!(self, Ready | AbortableError),
            Initializing => matches!(self, Uninitialized | Committing | Aborting),
            Ready => matches!(self, Initializing | Committing | Aborting),
            InTransaction => self == Ready,
            PreparedTransaction => matches!(self, InTransaction | Initializing),
            Committing => matches!(self, InTransaction | PreparedTransaction),
            Aborting => matches!(self, InTransaction | PreparedTransaction | AbortableError),
            AbortableError => {
                matches!(
                    self,
                    InTransaction | Committing | AbortableError | Initializing
                )
            }
            FatalError => true,
        }
    }

    /// Whether a transaction is open in this state (records may be part of
    /// one).
    pub fn has_open_transaction(self) -> bool {
        use TransactionState::*;
        matches!(
            self,
            InTransaction | Committing | Aborting | AbortableError | PreparedTransaction
        )
    }

    /// Every state, for tests and tables.
    pub const ALL: [TransactionState; 9] = [
        TransactionState::Uninitialized,
        TransactionState::Initializing,
        TransactionState::Ready,
        TransactionState::InTransaction,
        TransactionState::PreparedTransaction,
        TransactionState::Committing,
        TransactionState::Aborting,
        TransactionState::AbortableError,
        TransactionState::FatalError,
    ];
}

impl fmt::Display for TransactionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            TransactionState::Uninitialized => "uninitialized",
            TransactionState::Initializing => "initializing",
            TransactionState::Ready => "ready (no transaction open)",
            TransactionState::InTransaction => "in a transaction",
            TransactionState::PreparedTransaction => "holding a prepared transaction",
            TransactionState::Committing => "committing",
            TransactionState::Aborting => "aborting",
            TransactionState::AbortableError => "in an abortable error",
            TransactionState::FatalError => "in a fatal error",
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::TransactionState::{self, *};

    #[test]
    fn the_table_is_javas() {
        // (from, to) pairs that are legal; every other pair is not.
        let legal = [
            (Ready, Uninitialized),
            (AbortableError, Uninitialized),
            (Uninitialized, Initializing),
            (Committing, Initializing),
            (Aborting, Initializing),
            (Initializing, Ready),
            (Committing, Ready),
            (Aborting, Ready),
            (Ready, InTransaction),
            (InTransaction, PreparedTransaction),
            (Initializing, PreparedTransaction),
            (InTransaction, Committing),
            (PreparedTransaction, Committing),
            (InTransaction, Aborting),
            (PreparedTransaction, Aborting),
            (AbortableError, Aborting),
            (InTransaction, AbortableError),
            (Committing, AbortableError),
            (AbortableError, AbortableError),
            (Initializing, AbortableError),
        ];
        for from in TransactionState::ALL {
            for to in TransactionState::ALL {
                let expected = if to == FatalError {
                    from != FatalError
                } else {
                    legal.contains(&(from, to))
                };
                assert_eq!(from.may_become(to), expected, "{from:?} -> {to:?}");
            }
        }
    }
}
