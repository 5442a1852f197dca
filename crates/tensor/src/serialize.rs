//! Serde support: a tensor is the struct `{ shape, data }` with data in logical row-major order.

use ndarray::{ArcArray, IxDyn};
use serde::de::Error as _;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::float::Float;
use crate::shape::checked_numel;
use crate::tensor::Tensor;

/// The elements of an array in logical order, serialized as a sequence without a copy.
struct Elements<'a, F>(&'a ArcArray<F, IxDyn>);

impl<F: Float> Serialize for Elements<'_, F> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            Some(s) => s.serialize(serializer),
            None => serializer.collect_seq(self.0.iter()),
        }
    }
}

impl<F: Float> Serialize for Tensor<F> {
    /// Writes `{ shape: [..], data: [..] }`, the data in logical row-major order (views included).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let t = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap().t();
    /// let config = bincode::config::standard();
    /// let bytes = bincode::serde::encode_to_vec(&t, config).unwrap();
    /// let (back, _): (Tensor<f32>, usize) = bincode::serde::decode_from_slice(&bytes, config).unwrap();
    /// assert_eq!(back, t);
    /// ```
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Tensor", 2)?;
        s.serialize_field("shape", self.shape())?;
        s.serialize_field("data", &Elements(&self.data))?;
        s.end()
    }
}

/// The wire form, checked before it becomes a tensor.
#[derive(Deserialize)]
#[serde(rename = "Tensor")]
struct Raw<F> {
    shape: Vec<usize>,
    data: Vec<F>,
}

impl<'de, F: Float> Deserialize<'de> for Tensor<F> {
    /// Reads `{ shape, data }`; fails (never panics) when the data does not fill the shape.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Raw { shape, data } = Raw::<F>::deserialize(deserializer)?;
        let need = checked_numel(&shape).ok_or_else(|| {
            D::Error::custom(format!("tensor shape {shape:?} has too many elements to count"))
        })?;
        if need != data.len() {
            return Err(D::Error::custom(format!(
                "tensor data has {} elements but shape {shape:?} needs {need}",
                data.len()
            )));
        }
        Tensor::from_vec(data, &shape).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s;
    use bincode::config;
    use bincode::error::DecodeError;

    /// At most 64 KiB allocated while decoding.
    const LIMIT: usize = 1 << 16;

    fn seq(shape: &[usize]) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        Tensor::from_vec((0..n).map(|i| i as f64).collect(), shape).unwrap()
    }

    fn encode<T: Serialize>(value: &T) -> Vec<u8> {
        bincode::serde::encode_to_vec(value, config::standard()).unwrap()
    }

    fn decode<F: Float>(bytes: &[u8]) -> Result<Tensor<F>, DecodeError> {
        bincode::serde::decode_from_slice(bytes, config::standard().with_limit::<LIMIT>()).map(|(t, _)| t)
    }

    #[test]
    fn round_trips_through_bincode() {
        for t in [seq(&[2, 3]), seq(&[]), seq(&[0, 4]), seq(&[2, 3, 4]).permute(&[2, 0, 1])] {
            let back: Tensor<f64> = decode(&encode(&t)).unwrap();
            assert_eq!(back.shape(), t.shape());
            assert_eq!(back.to_vec(), t.to_vec());
        }
        let f = Tensor::<f32>::from_vec(vec![1.5, -2.0], &[2]).unwrap();
        assert_eq!(decode::<f32>(&encode(&f)).unwrap(), f);
    }

    #[test]
    fn views_serialize_in_logical_order() {
        let view = seq(&[3, 4]).t().slice(s![..;2, 1..]);
        assert!(view.as_slice().is_none());
        assert_eq!(encode(&view), encode(&view.to_contiguous()));
        let back: Tensor<f64> = decode(&encode(&view)).unwrap();
        assert_eq!(back.to_vec(), vec![4.0, 8.0, 6.0, 10.0]);
    }

    #[derive(Serialize)]
    #[serde(rename = "Tensor")]
    struct Forged {
        shape: Vec<usize>,
        data: Vec<f64>,
    }

    #[test]
    fn data_of_the_wrong_length_is_an_error() {
        let bytes = encode(&Forged { shape: vec![2, 2], data: vec![1.0; 3] });
        let err = decode::<f64>(&bytes).unwrap_err();
        let want = "tensor data has 3 elements but shape [2, 2] needs 4";
        assert!(matches!(&err, DecodeError::OtherString(m) if m == want), "{err:?}");
    }

    #[test]
    fn overflowing_shapes_are_an_error() {
        let bytes = encode(&Forged { shape: vec![usize::MAX, 2], data: vec![] });
        let err = decode::<f64>(&bytes).unwrap_err();
        assert!(matches!(&err, DecodeError::OtherString(m) if m.contains("too many elements")), "{err:?}");
        // A zero-sized shape whose other dims ndarray cannot index.
        let bytes = encode(&Forged { shape: vec![0, usize::MAX, 2], data: vec![] });
        assert!(decode::<f64>(&bytes).is_err());
        let bytes = encode(&Forged { shape: vec![0, usize::MAX], data: vec![] });
        assert!(decode::<f64>(&bytes).is_err());
    }

    #[test]
    fn truncated_and_huge_inputs_are_errors() {
        let bytes = encode(&seq(&[4, 4]));
        assert!(decode::<f64>(&bytes[..bytes.len() - 3]).is_err());
        // A claimed length of a billion elements trips the allocation limit instead of allocating.
        let bytes = encode(&Forged { shape: vec![1_000_000_000], data: vec![] });
        let mut forged = bytes[..bytes.len() - 1].to_vec();
        forged.extend(encode(&1_000_000_000u64));
        assert!(decode::<f64>(&forged).is_err());
    }
}
