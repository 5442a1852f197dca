//! The three recurrences — Elman RNN with tanh, GRU, LSTM — as marker types of one sealed trait, so
//! that one generic cell and one generic sequence layer serve all three.

use wengert_tape::Var;
use wengert_tensor::Float;

pub(crate) use sealed::Kind;

/// The equations a recurrent cell computes, named by a marker type: [`RnnKind`], [`GruKind`] or
/// [`LstmKind`]. It picks the state a step carries and the number of gates stacked in the weights.
///
/// The trait is sealed: the recurrent layers are written against these three.
///
/// ```
/// use wengert::nn::{GruKind, LstmKind, Recurrence};
/// assert_eq!((GruKind::NAME, GruKind::GATES), ("gru", 3));
/// assert_eq!((LstmKind::NAME, LstmKind::GATES), ("lstm", 4));
/// ```
pub trait Recurrence: sealed::Sealed + Send + Sync {
    /// What one step carries to the next: `h` for an RNN or a GRU, `(h, c)` for an LSTM. A sequence
    /// layer's initial and final states have the same form, each Var stacked over layers and
    /// directions.
    type State<'t, F: Float>: Copy;

    /// The name in parameter paths and messages: `"rnn"`, `"gru"` or `"lstm"`.
    const NAME: &'static str;

    /// The number of gates stacked in the weights: 1, 3 (r, z, n) or 4 (i, f, g, o).
    const GATES: usize;
}

/// The Elman recurrence with tanh: h' = tanh(W_ih x + b_ih + W_hh h + b_hh); the state is `h`.
///
/// ```
/// use wengert::nn::{Recurrence, RnnKind};
/// assert_eq!(RnnKind::GATES, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RnnKind;

/// The GRU recurrence (gates r, z, n); the state is `h`.
///
/// ```
/// use wengert::nn::{GruKind, Recurrence};
/// assert_eq!(GruKind::NAME, "gru");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GruKind;

/// The LSTM recurrence (gates i, f, g, o); the state is `(h, c)`.
///
/// ```
/// use wengert::nn::{LstmKind, Recurrence};
/// assert_eq!(LstmKind::GATES, 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LstmKind;

impl Recurrence for RnnKind {
    type State<'t, F: Float> = Var<'t, F>;
    const NAME: &'static str = Kind::Rnn.name();
    const GATES: usize = Kind::Rnn.gates();
}

impl Recurrence for GruKind {
    type State<'t, F: Float> = Var<'t, F>;
    const NAME: &'static str = Kind::Gru.name();
    const GATES: usize = Kind::Gru.gates();
}

impl Recurrence for LstmKind {
    type State<'t, F: Float> = (Var<'t, F>, Var<'t, F>);
    const NAME: &'static str = Kind::Lstm.name();
    const GATES: usize = Kind::Lstm.gates();
}

/// `h` and, for an LSTM, `c` of an optional state: both `None` when there is no state.
pub(crate) fn split_state<'t, K: Recurrence, F: Float>(
    state: Option<K::State<'t, F>>,
) -> (Option<Var<'t, F>>, Option<Var<'t, F>>) {
    match state.map(K::split) {
        Some((h, c)) => (Some(h), c),
        None => (None, None),
    }
}

mod sealed {
    use wengert_tape::Var;
    use wengert_tensor::Float;

    use super::{GruKind, LstmKind, Recurrence, RnnKind};

    /// Which recurrence a cell computes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        Rnn,
        Gru,
        Lstm,
    }

    /// Only this crate implements [`Recurrence`]; this is also how the crate reads and builds states.
    pub trait Sealed {
        /// The equations, for the shared step.
        const KIND: Kind;

        /// `h` and, for an LSTM, `c`.
        fn split<'t, F: Float>(state: <Self as Recurrence>::State<'t, F>) -> (Var<'t, F>, Option<Var<'t, F>>)
        where
            Self: Recurrence;

        /// The state from `h` and, for an LSTM, `c`.
        ///
        /// # Panics
        ///
        /// When `c` is missing for an LSTM.
        fn join<'t, F: Float>(h: Var<'t, F>, c: Option<Var<'t, F>>) -> <Self as Recurrence>::State<'t, F>
        where
            Self: Recurrence;
    }

    impl Sealed for RnnKind {
        const KIND: Kind = Kind::Rnn;

        fn split<'t, F: Float>(h: <Self as Recurrence>::State<'t, F>) -> (Var<'t, F>, Option<Var<'t, F>>) {
            (h, None)
        }

        fn join<'t, F: Float>(h: Var<'t, F>, _c: Option<Var<'t, F>>) -> <Self as Recurrence>::State<'t, F> {
            h
        }
    }

    impl Sealed for GruKind {
        const KIND: Kind = Kind::Gru;

        fn split<'t, F: Float>(h: <Self as Recurrence>::State<'t, F>) -> (Var<'t, F>, Option<Var<'t, F>>) {
            (h, None)
        }

        fn join<'t, F: Float>(h: Var<'t, F>, _c: Option<Var<'t, F>>) -> <Self as Recurrence>::State<'t, F> {
            h
        }
    }

    impl Sealed for LstmKind {
        const KIND: Kind = Kind::Lstm;

        fn split<'t, F: Float>(
            (h, c): <Self as Recurrence>::State<'t, F>,
        ) -> (Var<'t, F>, Option<Var<'t, F>>) {
            (h, Some(c))
        }

        fn join<'t, F: Float>(h: Var<'t, F>, c: Option<Var<'t, F>>) -> <Self as Recurrence>::State<'t, F> {
            (h, c.expect("an LSTM state has a cell state"))
        }
    }
}
