//! Generates the per-sample network code of a field architecture as WGSL, with
//! the dot products written out over `vec4`s and loops only over levels and
//! blocks of four outputs.
//!
//! Few loop iterations per sample keep per-sample work in registers and, on
//! Mesa's llvmpipe (the CI adapter), stay clear of its shader loop limiter,
//! which caps the total loop back-edges of one invocation at 65,535 across all
//! loops: with one iteration per weight, a ray would stop after a few dozen
//! samples. With this code a sample costs about 60 back-edges (8×4 grid,
//! 64-wide networks), so a ray can take about 1,000 samples there.

use std::fmt::Write;

/// The shape of a field's networks, which the generated code is specialised for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldArch {
    /// Hash-grid levels.
    pub levels: u32,
    /// Features per level (1, 2 or 4).
    pub features: u32,
    /// Density network: hidden width, hidden layers, outputs.
    pub density: (u32, u32, u32),
    /// Colour network: hidden width, hidden layers, outputs.
    pub colour: (u32, u32, u32),
}

/// One matrix–vector product `out = W · in` (W row-major `[rows][cols]`, stored
/// as `vec4` rows starting at `offset` vec4s into `weights`). Each loop
/// iteration computes four outputs with the dot products written out, so a
/// sample costs few loop back-edges.
fn layer(code: &mut String, out: &str, input: &str, rows: u32, cols: u32, offset: &str, relu: bool) {
    let blocks = cols / 4;
    let out_vec4s = rows.div_ceil(4);
    let row_sum = |row: &str| {
        (0..blocks)
            .map(|j| format!("dot(weights[{offset} + ({row}) * {blocks}u + {j}u], {input}[{j}])"))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    let _ = writeln!(code, "    var {out}: array<vec4<f32>, {out_vec4s}>;");
    let full = rows / 4;
    if full > 0 {
        let _ = writeln!(code, "    for (var ob = 0u; ob < {full}u; ob++) {{");
        let lanes: Vec<String> = (0..4).map(|k| row_sum(&format!("ob * 4u + {k}u"))).collect();
        let value = format!("vec4<f32>({})", lanes.join(", "));
        let value = if relu { format!("max({value}, vec4<f32>(0.0))") } else { value };
        let _ = writeln!(code, "        {out}[ob] = {value};");
        let _ = writeln!(code, "    }}");
    }
    for r in full * 4..rows {
        let value = row_sum(&format!("{r}u"));
        let value = if relu { format!("max({value}, 0.0)") } else { value };
        let lane = ["x", "y", "z", "w"][(r % 4) as usize];
        let _ = writeln!(code, "    {out}[{}].{lane} = {value};", r / 4);
    }
}

/// Runs an MLP whose input is the `vec4` array `input` (`in_width` values).
fn mlp(code: &mut String, name: &str, input: &str, in_width: u32, (width, hidden, outputs): (u32, u32, u32), offsets: &str) -> String {
    let mut current = input.to_string();
    let mut cols = in_width;
    for l in 0..hidden {
        let out = format!("{name}_h{l}");
        layer(code, &out, &current, width, cols, &format!("{offsets}[{l}]"), true);
        current = out;
        cols = width;
    }
    let out = format!("{name}_out");
    layer(code, &out, &current, outputs, cols, &format!("{offsets}[{hidden}]"), false);
    out
}

/// The generated module: `encode_position`, `density_outputs`, `colour`.
pub fn generate(arch: &FieldArch) -> String {
    let mut code = String::new();
    let f = arch.features;
    let enc_vec4s = (arch.levels * f).div_ceil(4);
    // One table entry's features as a vec4 (missing features are 0).
    let _ = writeln!(code, "fn grid_entry(base: u32) -> vec4<f32> {{");
    match f {
        4 => {
            let _ = writeln!(code, "    let a = unpack2x16float(grid_params[base >> 1u]);");
            let _ = writeln!(code, "    let b = unpack2x16float(grid_params[(base >> 1u) + 1u]);");
            let _ = writeln!(code, "    return vec4<f32>(a, b);");
        }
        2 => {
            let _ = writeln!(code, "    return vec4<f32>(unpack2x16float(grid_params[base >> 1u]), 0.0, 0.0);");
        }
        _ => {
            let _ = writeln!(code, "    let a = unpack2x16float(grid_params[base >> 1u]);");
            let _ = writeln!(code, "    return vec4<f32>(select(a.x, a.y, (base & 1u) == 1u), 0.0, 0.0, 0.0);");
        }
    }
    let _ = writeln!(code, "}}\n");
    let _ = writeln!(code, "fn level_features(l: u32, x: vec3<f32>) -> vec4<f32> {{");
    let _ = writeln!(code, "    let level = field.levels[l];");
    let _ = writeln!(code, "    let pos = x * bitcast<f32>(level.x) + vec3<f32>(0.5);");
    let _ = writeln!(code, "    let g = vec3<u32>(floor(pos));");
    let _ = writeln!(code, "    let fr = pos - floor(pos);");
    let _ = writeln!(code, "    let dense = ((field.grid.z >> l) & 1u) == 1u;");
    let _ = writeln!(code, "    var acc = vec4<f32>(0.0);");
    for c in 0..8u32 {
        let (bx, by, bz) = (c & 1, (c >> 1) & 1, (c >> 2) & 1);
        let w = |b: u32, axis: &str| if b == 1 { format!("fr.{axis}") } else { format!("(1.0 - fr.{axis})") };
        let _ = writeln!(
            code,
            "    acc += grid_entry((level.w + grid_index(g + vec3<u32>({bx}u, {by}u, {bz}u), level, dense)) * {f}u) * ({} * {} * {});",
            w(bx, "x"),
            w(by, "y"),
            w(bz, "z")
        );
    }
    let _ = writeln!(code, "    return acc;\n}}\n");
    // Encoding: level-major features packed into vec4s (one loop iteration per level).
    let vec4s = enc_vec4s.max(8);
    let _ = writeln!(code, "fn encode_position(x: vec3<f32>) -> array<vec4<f32>, {vec4s}> {{");
    let _ = writeln!(code, "    var flat: array<f32, {}>;", vec4s * 4);
    let _ = writeln!(code, "    for (var l = 0u; l < {}u; l++) {{", arch.levels);
    let _ = writeln!(code, "        let fl = level_features(l, x);");
    for k in 0..f {
        let src = ["x", "y", "z", "w"][k as usize];
        let _ = writeln!(code, "        flat[l * {f}u + {k}u] = fl.{src};");
    }
    let _ = writeln!(code, "    }}");
    let _ = writeln!(code, "    var out: array<vec4<f32>, {vec4s}>;");
    for i in 0..vec4s {
        let _ = writeln!(code, "    out[{i}] = vec4<f32>(flat[{}], flat[{}], flat[{}], flat[{}]);", 4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3);
    }
    let _ = writeln!(code, "    return out;\n}}\n");
    let in_width = enc_vec4s.max(8) * 4;
    let _ = writeln!(code, "fn density_outputs(x_unit: vec3<f32>) -> array<vec4<f32>, {}> {{", arch.density.2.div_ceil(4));
    let _ = writeln!(code, "    let enc = encode_position((x_unit - field.aabb_min.xyz) * field.aabb_inv_size.xyz);");
    let out = mlp(&mut code, "d", "enc", in_width, arch.density, "field.density_offsets");
    let _ = writeln!(code, "    return {out};\n}}\n");
    let dens_vec4s = arch.density.2.div_ceil(4);
    let _ = writeln!(code, "fn colour(dens: array<vec4<f32>, {dens_vec4s}>, d: vec3<f32>) -> vec3<f32> {{");
    let _ = writeln!(code, "    let sh = sh4(d);");
    let _ = writeln!(code, "    var cin: array<vec4<f32>, {}>;", dens_vec4s + 4);
    for i in 0..dens_vec4s {
        let _ = writeln!(code, "    cin[{i}] = dens[{i}];");
    }
    for i in 0..4 {
        let _ = writeln!(code, "    cin[{}] = sh[{i}];", dens_vec4s + i);
    }
    let out = mlp(&mut code, "c", "cin", (dens_vec4s + 4) * 4, arch.colour, "field.colour_offsets");
    let _ = writeln!(code, "    return colour_activation({out}[0].xyz);\n}}");
    code
}
