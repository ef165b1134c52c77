//! Crop volumes: boxes and spheres in a capture's local frame that keep or
//! remove the splats whose centres they contain.
//!
//! The rule, applied identically by the GPU preprocess and by the CPU
//! reference ([`crop_keeps`]): a splat is kept when its centre lies inside at
//! least one [`CropMode::KeepInside`] volume (if the list has any) and inside
//! no [`CropMode::RemoveInside`] volume. Dynamic splats are tested at their
//! centre at the time they are drawn. Entities carry their volumes in
//! [`SplatCrop`](crate::scene::SplatCrop); [`GaussianSplats::crop`] applies
//! them to an asset (for export).
//!
//! The GPU tests the centre as it stores it, quantised within its chunk of
//! 256 neighbouring splats (steps of about a thousandth of the chunk's
//! extent, well under a millimetre in a real capture): a splat that close to
//! a crop surface may fall on the other side there than in the CPU rule.

use bevy::math::{Mat4, Quat, Vec3, Vec4Swizzles};
use bevy::reflect::Reflect;

use super::asset::GaussianSplats;

/// The region of a [`CropVolume`], in the capture's local frame (the
/// entity's `Transform` moves the volume with the capture).
#[derive(Clone, Copy, Debug, PartialEq, Reflect)]
pub enum CropShape {
    /// An oriented box.
    Cuboid {
        /// Centre.
        center: Vec3,
        /// Half the box's size along each of its axes (all positive).
        half_size: Vec3,
        /// Orientation of the box's axes (normalised when used; must not be zero).
        rotation: Quat,
    },
    /// A ball.
    Sphere {
        /// Centre.
        center: Vec3,
        /// Radius (positive).
        radius: f32,
    },
}

/// What a [`CropVolume`] does with the splats inside it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Reflect)]
pub enum CropMode {
    /// Keep only splats inside (several such volumes keep their union).
    #[default]
    KeepInside,
    /// Remove the splats inside (cut away floaters).
    RemoveInside,
}

/// One crop volume: a shape and what it does.
#[derive(Clone, Copy, Debug, PartialEq, Reflect)]
pub struct CropVolume {
    /// The region.
    pub shape: CropShape,
    /// Keep or remove what is inside.
    pub mode: CropMode,
}

/// Why a [`CropVolume`] cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CropError {
    /// A centre, size, radius or rotation is NaN or infinite.
    #[error("crop volume {index}: its {what} is not finite")]
    NonFinite {
        /// Position of the volume in its list.
        index: usize,
        /// Which value.
        what: &'static str,
    },
    /// A box's half size is zero or negative along some axis (inverted bounds).
    #[error("crop volume {index}: box half size {half_size} must be positive along every axis (inverted or empty bounds)")]
    InvertedBounds {
        /// Position of the volume in its list.
        index: usize,
        /// The half size given.
        half_size: Vec3,
    },
    /// A sphere's radius is zero or negative.
    #[error("crop volume {index}: sphere radius {radius} must be positive")]
    NonPositiveRadius {
        /// Position of the volume in its list.
        index: usize,
        /// The radius given.
        radius: f32,
    },
    /// A box's rotation quaternion is zero.
    #[error("crop volume {index}: box rotation is a zero quaternion")]
    ZeroRotation {
        /// Position of the volume in its list.
        index: usize,
    },
}

impl CropVolume {
    /// An axis-aligned box from `min` to `max` corners.
    pub fn aabb(min: Vec3, max: Vec3, mode: CropMode) -> Self {
        Self {
            shape: CropShape::Cuboid {
                center: (min + max) * 0.5,
                half_size: (max - min) * 0.5,
                rotation: Quat::IDENTITY,
            },
            mode,
        }
    }

    /// A box centred at `center` with half size `half_size`, turned by `rotation`.
    pub fn cuboid(center: Vec3, half_size: Vec3, rotation: Quat, mode: CropMode) -> Self {
        Self { shape: CropShape::Cuboid { center, half_size, rotation }, mode }
    }

    /// A ball.
    pub fn sphere(center: Vec3, radius: f32, mode: CropMode) -> Self {
        Self { shape: CropShape::Sphere { center, radius }, mode }
    }

    /// Checks the volume's values (`index` names it in the error).
    pub fn validate(&self, index: usize) -> Result<(), CropError> {
        let non_finite = |what| Err(CropError::NonFinite { index, what });
        match self.shape {
            CropShape::Cuboid { center, half_size, rotation } => {
                if !center.is_finite() {
                    return non_finite("centre");
                }
                if !half_size.is_finite() {
                    return non_finite("half size");
                }
                if !rotation.is_finite() {
                    return non_finite("rotation");
                }
                if !half_size.cmpgt(Vec3::ZERO).all() {
                    return Err(CropError::InvertedBounds { index, half_size });
                }
                if !(rotation.length_squared() > 0.0) {
                    return Err(CropError::ZeroRotation { index });
                }
            }
            CropShape::Sphere { center, radius } => {
                if !center.is_finite() {
                    return non_finite("centre");
                }
                if !radius.is_finite() {
                    return non_finite("radius");
                }
                if !(radius > 0.0) {
                    return Err(CropError::NonPositiveRadius { index, radius });
                }
            }
        }
        Ok(())
    }

    /// The affine map from the capture's local frame to the volume's unit
    /// shape: the cube `[-1, 1]³` for a box, the unit ball for a sphere.
    /// The GPU receives this matrix; both sides test the same numbers.
    pub fn volume_from_local(&self) -> Mat4 {
        match self.shape {
            CropShape::Cuboid { center, half_size, rotation } => {
                let local_from_volume =
                    Mat4::from_scale_rotation_translation(half_size, rotation.normalize(), center);
                local_from_volume.inverse()
            }
            CropShape::Sphere { center, radius } => {
                Mat4::from_scale_rotation_translation(Vec3::splat(radius), Quat::IDENTITY, center).inverse()
            }
        }
    }

    /// Whether `point` (local frame) lies inside, given the volume's
    /// [`volume_from_local`](Self::volume_from_local) matrix.
    pub fn contains_with(&self, volume_from_local: &Mat4, point: Vec3) -> bool {
        let q = (*volume_from_local * point.extend(1.0)).xyz();
        match self.shape {
            CropShape::Cuboid { .. } => q.abs().cmple(Vec3::ONE).all(),
            CropShape::Sphere { .. } => q.dot(q) <= 1.0,
        }
    }

    /// Whether `point` (local frame) lies inside.
    pub fn contains(&self, point: Vec3) -> bool {
        self.contains_with(&self.volume_from_local(), point)
    }
}

/// Checks every volume of a list.
pub fn validate_crop(volumes: &[CropVolume]) -> Result<(), CropError> {
    volumes.iter().enumerate().try_for_each(|(index, v)| v.validate(index))
}

/// The crop rule for a splat centred at `point` (local frame): inside at
/// least one keep volume (when there are any) and inside no remove volume.
/// An empty list keeps everything. (To test many points, build a
/// [`PreparedCrop`] once.)
pub fn crop_keeps(volumes: &[CropVolume], point: Vec3) -> bool {
    keeps(volumes.iter().map(|v| (v, v.volume_from_local())), point)
}

/// The crop rule over volumes with their matrices.
#[inline]
fn keeps<'a, M: std::borrow::Borrow<Mat4>>(volumes: impl IntoIterator<Item = (&'a CropVolume, M)>, point: Vec3) -> bool {
    let mut any_keep = false;
    let mut kept = false;
    for (volume, matrix) in volumes {
        let inside = volume.contains_with(matrix.borrow(), point);
        match volume.mode {
            CropMode::KeepInside => {
                any_keep = true;
                kept |= inside;
            }
            CropMode::RemoveInside if inside => return false,
            CropMode::RemoveInside => {}
        }
    }
    kept || !any_keep
}

/// A crop with each volume's [`volume_from_local`](CropVolume::volume_from_local)
/// matrix computed once, for testing many points.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PreparedCrop {
    volumes: Vec<(CropVolume, Mat4)>,
}

impl PreparedCrop {
    /// Prepares `volumes`.
    pub fn new(volumes: &[CropVolume]) -> Self {
        Self { volumes: volumes.iter().map(|v| (*v, v.volume_from_local())).collect() }
    }

    /// The crop rule of [`crop_keeps`] for a point in the local frame.
    pub fn keeps(&self, point: Vec3) -> bool {
        keeps(self.volumes.iter().map(|(v, m)| (v, m)), point)
    }
}

impl GaussianSplats {
    /// Removes the splats that `volumes` crop away (their centres at
    /// `model_time` for dynamic captures; static captures ignore it) and
    /// returns how many were removed. The volumes are checked first: an
    /// invalid one changes nothing and is returned as the error.
    pub fn crop(&mut self, volumes: &[CropVolume], model_time: f32) -> Result<usize, CropError> {
        validate_crop(volumes)?;
        if volumes.is_empty() {
            return Ok(0);
        }
        let before = self.len();
        let crop = PreparedCrop::new(volumes);
        let keep: Vec<bool> = (0..before).map(|i| crop.keeps(self.evaluate(i, model_time).position)).collect();
        self.retain(|i| keep[i]);
        Ok(before - self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_keeps_union_of_keeps_minus_removes() {
        let keep_a = CropVolume::aabb(Vec3::splat(-1.0), Vec3::splat(1.0), CropMode::KeepInside);
        let keep_b = CropVolume::sphere(Vec3::new(3.0, 0.0, 0.0), 0.5, CropMode::KeepInside);
        let remove = CropVolume::sphere(Vec3::ZERO, 0.25, CropMode::RemoveInside);
        let list = [keep_a, keep_b, remove];
        assert!(crop_keeps(&list, Vec3::new(0.5, 0.5, 0.5)));
        assert!(crop_keeps(&list, Vec3::new(3.2, 0.0, 0.0)));
        assert!(!crop_keeps(&list, Vec3::new(2.0, 0.0, 0.0)));
        assert!(!crop_keeps(&list, Vec3::new(0.1, 0.0, 0.0)));
        assert!(crop_keeps(&[], Vec3::splat(1e9)));
        assert!(!crop_keeps(&[remove], Vec3::ZERO));
        assert!(crop_keeps(&[remove], Vec3::ONE));
    }

    #[test]
    fn rotated_box_contains_along_its_axes() {
        let rotation = Quat::from_rotation_z(std::f32::consts::FRAC_PI_4);
        let v = CropVolume::cuboid(Vec3::new(1.0, 0.0, 0.0), Vec3::new(2.0, 0.1, 0.1), rotation, CropMode::KeepInside);
        let along = rotation * Vec3::X * 1.9 + Vec3::X;
        assert!(v.contains(along));
        assert!(!v.contains(Vec3::new(2.9, 0.0, 0.0)));
        // An unnormalised rotation means the same orientation.
        let scaled = CropVolume::cuboid(Vec3::new(1.0, 0.0, 0.0), Vec3::new(2.0, 0.1, 0.1), rotation * 3.0, CropMode::KeepInside);
        assert!(scaled.contains(along));
    }

    #[test]
    fn invalid_volumes_are_typed_errors() {
        let inverted = CropVolume::aabb(Vec3::ONE, Vec3::ZERO, CropMode::KeepInside);
        assert!(matches!(inverted.validate(0), Err(CropError::InvertedBounds { .. })));
        let nan = CropVolume::sphere(Vec3::new(f32::NAN, 0.0, 0.0), 1.0, CropMode::RemoveInside);
        assert!(matches!(validate_crop(&[inverted.clone(), nan][1..]), Err(CropError::NonFinite { what: "centre", .. })));
        let flat = CropVolume::sphere(Vec3::ZERO, 0.0, CropMode::KeepInside);
        assert!(matches!(flat.validate(3), Err(CropError::NonPositiveRadius { index: 3, .. })));
        let zero = CropVolume::cuboid(Vec3::ZERO, Vec3::ONE, Quat::from_xyzw(0.0, 0.0, 0.0, 0.0), CropMode::KeepInside);
        assert!(matches!(zero.validate(0), Err(CropError::ZeroRotation { .. })));
        assert!(inverted.validate(2).unwrap_err().to_string().contains("crop volume 2"));
    }

    #[test]
    fn cropping_an_asset_removes_what_the_rule_removes() {
        let mut splats = GaussianSplats::with_capacity(4, 0);
        for x in [-2.0, -0.5, 0.5, 2.0] {
            splats.positions.push(Vec3::new(x, 0.0, 0.0));
            splats.rotations.push(Quat::IDENTITY);
            splats.scales.push(Vec3::splat(0.1));
            splats.opacities.push(0.5);
            splats.sh.push([x, 0.0, 0.0]);
        }
        let volumes = [CropVolume::aabb(Vec3::splat(-1.0), Vec3::splat(1.0), CropMode::KeepInside)];
        let mut cropped = splats.clone();
        assert_eq!(cropped.crop(&volumes, 0.0), Ok(2));
        assert_eq!(cropped.positions, vec![Vec3::new(-0.5, 0.0, 0.0), Vec3::new(0.5, 0.0, 0.0)]);
        assert_eq!(cropped.sh, vec![[-0.5, 0.0, 0.0], [0.5, 0.0, 0.0]]);
        let bad = [CropVolume::sphere(Vec3::ZERO, -1.0, CropMode::KeepInside)];
        let mut unchanged = splats.clone();
        assert!(unchanged.crop(&bad, 0.0).is_err());
        assert_eq!(unchanged, splats);
    }
}
