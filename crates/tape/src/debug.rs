//! Seeing the graph: a summary of the nodes (op, output shape, bytes held, per node and per op kind)
//! and Graphviz output.

use std::fmt::{self, Write};

use wengert_tensor::Float;

use crate::tape::Tape;

/// One line of a [`TapeSummary`].
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSummary {
    /// The node's index.
    pub id: usize,
    /// The op that made it (`leaf` for vars and constants).
    pub op: String,
    /// The output shape.
    pub shape: Vec<usize>,
    /// Bytes of the output's elements.
    pub bytes: usize,
    /// The inputs' indices.
    pub inputs: Vec<usize>,
    /// True when a gradient can flow through the node.
    pub requires_grad: bool,
}

/// Totals for one op kind in a [`TapeSummary`].
#[derive(Debug, Clone, PartialEq)]
pub struct OpTotal {
    /// The op kind (its name up to the first parenthesis).
    pub op: String,
    /// How many nodes it made.
    pub count: usize,
    /// Bytes their outputs hold.
    pub bytes: usize,
}

/// What a tape holds: every node, and totals per op kind. `Display` prints both as tables.
#[derive(Debug, Clone, PartialEq)]
pub struct TapeSummary {
    /// One entry per node, in recording order.
    pub nodes: Vec<NodeSummary>,
    /// One entry per op kind, most bytes first.
    pub by_op: Vec<OpTotal>,
    /// Bytes held by all node values (shared buffers are counted once per node).
    pub total_bytes: usize,
}

impl<F: Float> Tape<F> {
    /// A summary of every recorded node and totals per op kind.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f32>::new();
    /// let x = tape.var(Tensor::ones(&[2, 3]));
    /// let _y = x.tanh().sum();
    /// let s = tape.summary();
    /// assert_eq!(s.nodes[1].op, "tanh");
    /// assert_eq!(s.nodes[1].bytes, 24);
    /// ```
    pub fn summary(&self) -> TapeSummary {
        let nodes: Vec<NodeSummary> = self
            .nodes
            .borrow()
            .iter()
            .enumerate()
            .map(|(id, n)| NodeSummary {
                id,
                op: n.op.name(),
                shape: n.value.shape().to_vec(),
                bytes: n.value.nbytes(),
                inputs: n.inputs.to_vec(),
                requires_grad: n.requires_grad,
            })
            .collect();
        let mut by_op: Vec<OpTotal> = Vec::new();
        for n in &nodes {
            let kind = n.op.split('(').next().unwrap_or(&n.op).to_string();
            match by_op.iter_mut().find(|t| t.op == kind) {
                Some(t) => {
                    t.count += 1;
                    t.bytes += n.bytes;
                }
                None => by_op.push(OpTotal { op: kind, count: 1, bytes: n.bytes }),
            }
        }
        by_op.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.op.cmp(&b.op)));
        let total_bytes = nodes.iter().map(|n| n.bytes).sum();
        TapeSummary { nodes, by_op, total_bytes }
    }

    /// The graph in Graphviz dot syntax: one box per node (index, op, shape), an edge per input.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph tape {\n  node [shape=box, fontname=monospace];\n");
        for n in self.summary().nodes {
            let style = if n.requires_grad { "" } else { ", style=dashed" };
            let _ = writeln!(
                out,
                "  n{} [label=\"#{} {} {:?}\"{style}];",
                n.id,
                n.id,
                n.op.replace('"', "'"),
                n.shape
            );
            for i in n.inputs {
                let _ = writeln!(out, "  n{i} -> n{};", n.id);
            }
        }
        out.push_str("}\n");
        out
    }
}

impl fmt::Display for TapeSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:>5}  {:<28} {:<18} {:>10}  inputs", "node", "op", "shape", "bytes")?;
        for n in &self.nodes {
            let shape = format!("{:?}", n.shape);
            writeln!(f, "{:>5}  {:<28} {:<18} {:>10}  {:?}", n.id, n.op, shape, n.bytes, n.inputs)?;
        }
        writeln!(f, "\n{:<28} {:>6} {:>10}", "op", "count", "bytes")?;
        for t in &self.by_op {
            writeln!(f, "{:<28} {:>6} {:>10}", t.op, t.count, t.bytes)?;
        }
        write!(f, "{} nodes, {} bytes", self.nodes.len(), self.total_bytes)
    }
}
