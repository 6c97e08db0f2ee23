//! Generates `kafka-protocol/src/generated/` from Kafka's JSON message
//! schemas: one module per schema, one type per message and nested struct,
//! with decode/encode/size per version, `Default` from schema defaults, and
//! (under `cfg(test)`) a random-value builder for the round-trip tests.
//!
//! The output is plain text formatted with rustfmt, so re-running the
//! generator on the same schemas gives the same bytes.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Versions that newer brokers speak with an unchanged layout, so the schema
/// set's range is widened; our schemas predate them (see PROVENANCE.md of
/// the schema folder). Produce v12 (Kafka 4.0) has the v11 fields and
/// TxnOffsetCommit v5 the v4 fields: both only tell the broker that the
/// client speaks transactions v2 (KIP-890 part 2).
const MAX_VERSION_OVERRIDES: &[(&str, i16)] = &[
    ("ProduceRequest", 12),
    ("ProduceResponse", 12),
    ("TxnOffsetCommitRequest", 5),
    ("TxnOffsetCommitResponse", 5),
];

pub fn run(args: &[String]) -> Result<(), String> {
    let mut schemas = crate::root().join("../shared/kafka-message-schemas");
    let mut check = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--schemas" => schemas = PathBuf::from(it.next().ok_or("--schemas needs a folder")?),
            "--check" => check = true,
            other => return Err(format!("codegen: unknown argument {other}")),
        }
    }
    let out_dir = crate::root().join("kafka-protocol/src/generated");
    let files = generate(&schemas)?;
    if check {
        let mut stale = Vec::new();
        for (name, text) in &files {
            if fs::read_to_string(out_dir.join(name)).ok().as_deref() != Some(text.as_str()) {
                stale.push(name.clone());
            }
        }
        let existing: Vec<String> = fs::read_dir(&out_dir)
            .map_err(|e| format!("{}: {e}", out_dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| !files.contains_key(n))
            .collect();
        stale.extend(existing);
        if !stale.is_empty() {
            return Err(format!(
                "generated code is stale; run `cargo xtask codegen`: {stale:?}"
            ));
        }
        println!("codegen: {} generated files are up to date", files.len());
        return Ok(());
    }
    if out_dir.exists() {
        fs::remove_dir_all(&out_dir).map_err(|e| e.to_string())?;
    }
    fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    for (name, text) in &files {
        fs::write(out_dir.join(name), text).map_err(|e| e.to_string())?;
    }
    println!(
        "codegen: wrote {} files to {}",
        files.len(),
        out_dir.display()
    );
    Ok(())
}

/// Reads every schema and returns the formatted generated files by name.
fn generate(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("cannot read schema folder {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!("no schemas in {}", dir.display()));
    }
    let mut schemas = Vec::new();
    for p in &paths {
        let text = fs::read_to_string(p).map_err(|e| e.to_string())?;
        let json: Value = serde_json::from_str(&strip_comments(&text))
            .map_err(|e| format!("{}: {e}", p.display()))?;
        schemas.push(Schema::parse(&json).map_err(|e| format!("{}: {e}", p.display()))?);
    }
    let mut files = BTreeMap::new();
    for s in &schemas {
        files.insert(format!("{}.rs", s.module), s.render()?);
    }
    files.insert("mod.rs".to_string(), render_mod(&schemas)?);
    let mut out = BTreeMap::new();
    for (name, text) in files {
        out.insert(name, rustfmt(&text)?);
    }
    Ok(out)
}

fn strip_comments(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn rustfmt(text: &str) -> Result<String, String> {
    use std::io::Write;
    let mut child = Command::new("rustfmt")
        .args([
            "--edition",
            "2021",
            "--emit",
            "stdout",
            "--config",
            "max_width=100",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run rustfmt: {e}"))?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        let dump = std::env::temp_dir().join("xtask-codegen-failed.rs");
        let _ = fs::write(&dump, text);
        return Err(format!(
            "rustfmt failed ({}); input saved to {}:\n{}",
            out.status,
            dump.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

/// An inclusive version range; `lo > hi` is empty.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Range {
    lo: i16,
    hi: i16,
}

impl Range {
    const NONE: Range = Range { lo: 1, hi: 0 };

    fn parse(s: &str) -> Result<Range, String> {
        let s = s.trim();
        if s == "none" {
            return Ok(Range::NONE);
        }
        let num = |x: &str| {
            x.trim()
                .parse::<i16>()
                .map_err(|e| format!("bad version range {s:?}: {e}"))
        };
        if let Some(lo) = s.strip_suffix('+') {
            Ok(Range {
                lo: num(lo)?,
                hi: i16::MAX,
            })
        } else if let Some((lo, hi)) = s.split_once('-') {
            Ok(Range {
                lo: num(lo)?,
                hi: num(hi)?,
            })
        } else {
            let v = num(s)?;
            Ok(Range { lo: v, hi: v })
        }
    }

    fn is_empty(self) -> bool {
        self.lo > self.hi
    }

    fn intersect(self, o: Range) -> Range {
        Range {
            lo: self.lo.max(o.lo),
            hi: self.hi.min(o.hi),
        }
    }

    /// A Rust condition on `v` for this range, simplified within `within`
    /// (the versions the code can be called with).
    fn cond(self, within: Range) -> String {
        let r = self.intersect(within);
        if r.is_empty() {
            return "false".into();
        }
        match (r.lo <= within.lo, r.hi >= within.hi) {
            (true, true) => "true".into(),
            (false, true) => format!("v >= {}", r.lo),
            (true, false) => format!("v <= {}", r.hi),
            (false, false) if r.lo == r.hi => format!("v == {}", r.lo),
            (false, false) => format!("({} ..= {}).contains(&v)", r.lo, r.hi),
        }
    }

    fn describe(self) -> String {
        if self.is_empty() {
            "none".into()
        } else if self.hi == i16::MAX {
            format!("{}+", self.lo)
        } else if self.lo == self.hi {
            format!("{}", self.lo)
        } else {
            format!("{}-{}", self.lo, self.hi)
        }
    }
}

#[derive(Clone, Debug)]
enum Ty {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint16,
    Uint32,
    Float64,
    Uuid,
    Str,
    Bytes,
    Records,
    Array(Box<Ty>),
    Struct(String),
}

impl Ty {
    fn parse(s: &str) -> Ty {
        match s {
            "bool" => Ty::Bool,
            "int8" => Ty::Int8,
            "int16" => Ty::Int16,
            "int32" => Ty::Int32,
            "int64" => Ty::Int64,
            "uint16" => Ty::Uint16,
            "uint32" => Ty::Uint32,
            "float64" => Ty::Float64,
            "uuid" => Ty::Uuid,
            "string" => Ty::Str,
            "bytes" => Ty::Bytes,
            "records" => Ty::Records,
            s if s.starts_with("[]") => Ty::Array(Box::new(Ty::parse(&s[2..]))),
            s => Ty::Struct(s.to_string()),
        }
    }

    fn can_be_null(&self) -> bool {
        matches!(
            self,
            Ty::Str | Ty::Bytes | Ty::Records | Ty::Array(_) | Ty::Struct(_)
        )
    }

    /// The Rust type of a non-null value.
    fn rust(&self) -> String {
        match self {
            Ty::Bool => "bool".into(),
            Ty::Int8 => "i8".into(),
            Ty::Int16 => "i16".into(),
            Ty::Int32 => "i32".into(),
            Ty::Int64 => "i64".into(),
            Ty::Uint16 => "u16".into(),
            Ty::Uint32 => "u32".into(),
            Ty::Float64 => "f64".into(),
            Ty::Uuid => "Uuid".into(),
            Ty::Str => "StrBytes".into(),
            Ty::Bytes | Ty::Records => "Bytes".into(),
            Ty::Array(e) => format!("Vec<{}>", e.rust()),
            Ty::Struct(s) => s.clone(),
        }
    }

    fn fixed(&self) -> Option<(&'static str, usize)> {
        Some(match self {
            Ty::Bool => ("bool", 1),
            Ty::Int8 => ("i8", 1),
            Ty::Int16 => ("i16", 2),
            Ty::Int32 => ("i32", 4),
            Ty::Int64 => ("i64", 8),
            Ty::Uint16 => ("u16", 2),
            Ty::Uint32 => ("u32", 4),
            Ty::Float64 => ("f64", 8),
            _ => return None,
        })
    }

    /// Parser expression over input `i` for a non-null value.
    fn read(&self, flex: &str, field: &str) -> String {
        if let Some((n, _)) = self.fixed() {
            return format!("p::read_{n}(i)");
        }
        match self {
            Ty::Uuid => "p::read_uuid(i)".into(),
            Ty::Str => format!("p::read_string(i, o, {flex}, {field:?}, v)"),
            Ty::Bytes | Ty::Records => format!("p::read_bytes(i, o, {flex}, {field:?}, v)"),
            Ty::Array(e) => format!(
                "p::read_array(i, {flex}, {field:?}, v, |i| {})",
                e.read(flex, field)
            ),
            Ty::Struct(s) => format!("{s}::decode_from(i, o, v)"),
            _ => unreachable!(),
        }
    }

    /// Parser expression over input `i` for a nullable value (an `Option`).
    fn read_nullable(&self, flex: &str, field: &str) -> String {
        match self {
            Ty::Str => format!("p::read_nullable_string(i, o, {flex})"),
            Ty::Bytes | Ty::Records => format!("p::read_nullable_bytes(i, o, {flex})"),
            Ty::Array(e) => format!(
                "p::read_nullable_array(i, {flex}, |i| {})",
                e.read(flex, field)
            ),
            Ty::Struct(s) => format!("p::read_nullable_struct(i, |i| {s}::decode_from(i, o, v))"),
            _ => unreachable!(),
        }
    }

    /// Statement writing the non-null value referenced by `x` (a `&T`) into `b`.
    fn write(&self, x: &str, flex: &str) -> String {
        if let Some((n, _)) = self.fixed() {
            return format!("p::write_{n}(b, *{x});");
        }
        match self {
            Ty::Uuid => format!("p::write_uuid(b, {x});"),
            Ty::Str => format!("p::write_nullable_string(b, Some({x}), {flex})?;"),
            Ty::Bytes | Ty::Records => {
                format!("p::write_nullable_bytes(b, Some(&({x})[..]), {flex})?;")
            }
            Ty::Array(e) => format!(
                "p::write_nullable_array(b, Some(&({x})[..]), {flex}, |b, e| {{ {} Ok(()) }})?;",
                e.write("e", flex)
            ),
            Ty::Struct(_) => format!("({x}).encode(b, v)?;"),
            _ => unreachable!(),
        }
    }

    /// Statement writing the nullable value referenced by `x` (a `&Option<T>`).
    fn write_nullable(&self, x: &str, flex: &str) -> String {
        match self {
            Ty::Str => format!("p::write_nullable_string(b, {x}.as_ref(), {flex})?;"),
            Ty::Bytes | Ty::Records => {
                format!("p::write_nullable_bytes(b, {x}.as_deref(), {flex})?;")
            }
            Ty::Array(e) => format!(
                "p::write_nullable_array(b, {x}.as_deref(), {flex}, |b, e| {{ {} Ok(()) }})?;",
                e.write("e", flex)
            ),
            Ty::Struct(_) => {
                format!("p::write_nullable_struct(b, {x}.as_ref(), |b, s| s.encode(b, v))?;")
            }
            _ => unreachable!(),
        }
    }

    /// Expression (usize) for the size of the non-null value `x` (a `&T`).
    fn size(&self, x: &str, flex: &str) -> String {
        if let Some((_, n)) = self.fixed() {
            return format!("{n}");
        }
        match self {
            Ty::Uuid => "16".into(),
            Ty::Str => format!("p::nullable_string_size(Some({x}), {flex})"),
            Ty::Bytes | Ty::Records => format!("p::nullable_bytes_size(Some(&({x})[..]), {flex})"),
            Ty::Array(e) => format!(
                "p::nullable_array_size(Some(&({x})[..]), {flex}, |e| Ok({}))?",
                e.size("e", flex)
            ),
            Ty::Struct(_) => format!("({x}).encoded_size(v)?"),
            _ => unreachable!(),
        }
    }

    fn size_nullable(&self, x: &str, flex: &str) -> String {
        match self {
            Ty::Str => format!("p::nullable_string_size({x}.as_ref(), {flex})"),
            Ty::Bytes | Ty::Records => format!("p::nullable_bytes_size({x}.as_deref(), {flex})"),
            Ty::Array(e) => format!(
                "p::nullable_array_size({x}.as_deref(), {flex}, |e| Ok({}))?",
                e.size("e", flex)
            ),
            Ty::Struct(_) => {
                format!("p::nullable_struct_size({x}.as_ref(), |s| s.encoded_size(v))?")
            }
            _ => unreachable!(),
        }
    }

    /// Expression building a random non-null value (tests only).
    fn random(&self) -> String {
        match self {
            Ty::Bool => "g.bool()".into(),
            Ty::Int8 => "g.next() as i8".into(),
            Ty::Int16 => "g.next() as i16".into(),
            Ty::Int32 => "g.next() as i32".into(),
            Ty::Int64 => "g.next() as i64".into(),
            Ty::Uint16 => "g.next() as u16".into(),
            Ty::Uint32 => "g.next() as u32".into(),
            Ty::Float64 => "g.f64()".into(),
            Ty::Uuid => "g.uuid()".into(),
            Ty::Str => "g.string()".into(),
            Ty::Bytes | Ty::Records => "g.bytes()".into(),
            Ty::Array(e) => format!("g.array(|g| {})", e.random()),
            Ty::Struct(s) => format!("{s}::random(g, v)"),
        }
    }
}

#[derive(Clone, Debug)]
struct Field {
    name: String,
    ident: String,
    ty: Ty,
    versions: Range,
    nullable: Range,
    tag: Option<u32>,
    tagged: Range,
    ignorable: bool,
    default: Option<String>,
    flexible_override: Option<Range>,
    about: String,
}

#[derive(Clone, Debug)]
struct StructDef {
    name: String,
    about: String,
    fields: Vec<Field>,
}

struct Schema {
    name: String,
    module: String,
    kind: String,
    api_key: Option<i16>,
    valid: Range,
    flexible: Range,
    about: String,
    /// Top-level struct first, then nested and common structs in definition order.
    structs: Vec<StructDef>,
}

impl Schema {
    fn parse(json: &Value) -> Result<Schema, String> {
        let s = |k: &str| json.get(k).and_then(Value::as_str).map(str::to_string);
        let name = s("name").ok_or("schema without name")?;
        let kind = s("type").ok_or("schema without type")?;
        let mut valid = Range::parse(&s("validVersions").ok_or("no validVersions")?)?;
        if let Some((_, max)) = MAX_VERSION_OVERRIDES.iter().find(|(n, _)| *n == name) {
            valid.hi = valid.hi.max(*max);
        }
        let flexible = Range::parse(&s("flexibleVersions").unwrap_or_else(|| "none".into()))?;
        let api_key = json.get("apiKey").and_then(Value::as_i64).map(|k| k as i16);
        let mut structs = Vec::new();
        let fields = parse_fields(json.get("fields"), &mut structs)?;
        structs.insert(
            0,
            StructDef {
                name: name.clone(),
                about: s("about").unwrap_or_default(),
                fields,
            },
        );
        if let Some(Value::Array(common)) = json.get("commonStructs") {
            for c in common {
                let cname = c
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or("common struct without name")?;
                let fields = parse_fields(c.get("fields"), &mut structs)?;
                structs.push(StructDef {
                    name: cname.to_string(),
                    about: String::new(),
                    fields,
                });
            }
        }
        // Every struct type a field names must be defined exactly once.
        let mut seen = HashMap::new();
        for st in &structs {
            if seen.insert(st.name.clone(), ()).is_some() {
                return Err(format!("struct {} defined twice", st.name));
            }
        }
        Ok(Schema {
            module: snake(&name),
            about: s("about").unwrap_or_default(),
            name,
            kind,
            api_key,
            valid,
            flexible,
            structs,
        })
    }

    fn render(&self) -> Result<String, String> {
        let mut o = String::new();
        writeln!(
            o,
            "//! `{}`: generated by `cargo xtask codegen` from `{}.json`. Do not edit.",
            self.name, self.name
        )
        .unwrap();
        writeln!(o, "//!").unwrap();
        writeln!(
            o,
            "//! Valid versions: {}; flexible versions: {}.",
            self.valid.describe(),
            self.flexible.describe()
        )
        .unwrap();
        if !self.about.is_empty() {
            writeln!(o, "//!\n//! {}", doc(&self.about)).unwrap();
        }
        o.push_str(
            "#![allow(clippy::all, unused_mut, unused_variables, unused_imports, unused_assignments)]\n\n\
             use bytes::{BufMut, Bytes};\n\n\
             use crate::primitives::{self as p, PResult, StrBytes, UnknownTaggedFields, Uuid};\n\
             use crate::messages::{Decodable, Encodable, Message, VersionRange};\n\
             use crate::ProtocolError;\n\n",
        );
        for st in &self.structs {
            self.render_struct(&mut o, st, st.name == self.name);
        }
        Ok(o)
    }

    fn flex_cond(&self, f: Option<&Field>) -> String {
        let r = f.and_then(|f| f.flexible_override).unwrap_or(self.flexible);
        r.cond(self.valid)
    }

    fn render_struct(&self, o: &mut String, st: &StructDef, top: bool) {
        let has_flex = !self.flexible.intersect(self.valid).is_empty();
        // Declaration.
        if st.about.is_empty() {
            writeln!(o, "/// `{}` of `{}`.", st.name, self.name).unwrap();
        } else {
            writeln!(o, "/// {}", doc(&st.about)).unwrap();
        }
        o.push_str("#[derive(Debug, Clone, PartialEq)]\npub struct ");
        o.push_str(&st.name);
        o.push_str(" {\n");
        for f in &st.fields {
            let mut d = if f.about.is_empty() {
                f.name.clone()
            } else {
                doc(&f.about)
            };
            write!(d, "\n///\n/// Versions: {}", f.versions.describe()).unwrap();
            if !f.nullable.is_empty() {
                write!(d, "; nullable: {}", f.nullable.describe()).unwrap();
            }
            if let Some(t) = f.tag {
                write!(d, "; tagged (tag {t}): {}", f.tagged.describe()).unwrap();
            }
            writeln!(o, "/// {d}.\npub {}: {},", f.ident, rust_type(f)).unwrap();
        }
        if has_flex {
            o.push_str("/// Tagged fields this schema does not know, kept for re-encoding.\npub unknown_tagged_fields: UnknownTaggedFields,\n");
        }
        o.push_str("}\n\n");

        // Default.
        writeln!(
            o,
            "impl Default for {} {{\nfn default() -> Self {{\n{} {{",
            st.name, st.name
        )
        .unwrap();
        for f in &st.fields {
            writeln!(o, "{}: {},", f.ident, default_expr(f)).unwrap();
        }
        if has_flex {
            o.push_str("unknown_tagged_fields: UnknownTaggedFields::new(),\n");
        }
        o.push_str("}\n}\n}\n\n");

        let within = self.valid;
        let flex_all = self.flex_cond(None);

        // Decode.
        writeln!(o, "impl Decodable for {} {{", st.name).unwrap();
        o.push_str("fn decode_from<'a>(i: &'a [u8], o: &Bytes, v: i16) -> PResult<'a, Self> {\n");
        o.push_str("let mut i = i;\nlet mut this = Self::default();\n");
        for f in st.fields.iter().filter(|f| f.tag.is_none()) {
            let cond = f.versions.cond(within);
            if cond == "false" {
                continue;
            }
            let flex = self.flex_cond(Some(f));
            let read = read_field(f, &flex, within);
            if cond == "true" {
                writeln!(o, "(i, this.{}) = {};", f.ident, read).unwrap();
            } else {
                writeln!(o, "if {cond} {{ (i, this.{}) = {}; }}", f.ident, read).unwrap();
            }
        }
        if has_flex {
            writeln!(o, "if {flex_all} {{").unwrap();
            o.push_str("(i, this.unknown_tagged_fields) = p::read_tagged_fields(i, o, |tag, data| {\nmatch tag {\n");
            for f in st.fields.iter().filter(|f| f.tag.is_some()) {
                let cond = f.versions.intersect(f.tagged).cond(within);
                if cond == "false" {
                    continue;
                }
                let read = read_field(f, "true", within);
                let guard = if cond == "true" {
                    String::new()
                } else {
                    format!(" if {cond}")
                };
                writeln!(
                    o,
                    "{}{guard} => {{ this.{} = p::read_tagged_value(data, |i| Ok({read}))?; Ok(true) }}",
                    f.tag.unwrap(),
                    f.ident
                )
                .unwrap();
            }
            o.push_str("_ => Ok(false),\n}\n})?;\n}\n");
        }
        o.push_str("Ok((i, this))\n}\n}\n\n");

        // Encode and size.
        writeln!(o, "impl Encodable for {} {{", st.name).unwrap();
        o.push_str(
            "fn encode<B: BufMut>(&self, b: &mut B, v: i16) -> Result<(), ProtocolError> {\n",
        );
        for f in st.fields.iter().filter(|f| f.tag.is_none()) {
            let cond = f.versions.cond(within);
            let flex = self.flex_cond(Some(f));
            let write = write_field(f, &flex, within);
            let absent = absent_check(f);
            match cond.as_str() {
                "true" => o.push_str(&write),
                "false" => o.push_str(&absent),
                c => write!(o, "if {c} {{ {write} }} else {{ {absent} }}").unwrap(),
            }
            o.push('\n');
        }
        // Tagged fields absent from the version must hold their default.
        for f in st.fields.iter().filter(|f| f.tag.is_some()) {
            let cond = f
                .versions
                .intersect(f.tagged)
                .intersect(self.flexible)
                .cond(within);
            if cond != "true" {
                let absent = absent_check(f);
                if !absent.is_empty() {
                    writeln!(o, "if !({cond}) {{ {absent} }}").unwrap();
                }
            }
        }
        if has_flex {
            writeln!(o, "if {flex_all} {{").unwrap();
            o.push_str("let mut known = 0usize;\n");
            let tagged = tagged_sorted(st);
            for f in &tagged {
                writeln!(o, "if {} {{ known += 1; }}", tagged_present(f, within)).unwrap();
            }
            o.push_str("let mut tw = p::TaggedFieldsWriter::begin(b, known, &self.unknown_tagged_fields);\n");
            for f in &tagged {
                writeln!(
                    o,
                    "if {} {{ tw.field(b, {}, {}, |b| {{ {} Ok(()) }})?; }}",
                    tagged_present(f, within),
                    f.tag.unwrap(),
                    size_field(f, "true"),
                    write_field(f, "true", within)
                )
                .unwrap();
            }
            o.push_str("tw.finish(b);\n}\n");
        }
        o.push_str("Ok(())\n}\n\n");

        o.push_str("fn encoded_size(&self, v: i16) -> Result<usize, ProtocolError> {\nlet mut n = 0usize;\n");
        for f in st.fields.iter().filter(|f| f.tag.is_none()) {
            let cond = f.versions.cond(within);
            if cond == "false" {
                continue;
            }
            let flex = self.flex_cond(Some(f));
            let size = size_field(f, &flex);
            if cond == "true" {
                writeln!(o, "n += {size};").unwrap();
            } else {
                writeln!(o, "if {cond} {{ n += {size}; }}").unwrap();
            }
        }
        if has_flex {
            writeln!(o, "if {flex_all} {{").unwrap();
            o.push_str("let mut known = 0usize;\n");
            for f in tagged_sorted(st) {
                writeln!(
                    o,
                    "if {} {{ known += 1; n += p::tagged_field_size({}, {}); }}",
                    tagged_present(f, within),
                    f.tag.unwrap(),
                    size_field(f, "true")
                )
                .unwrap();
            }
            o.push_str(
                "n += p::unknown_tagged_fields_size(known, &self.unknown_tagged_fields);\n}\n",
            );
        }
        o.push_str("Ok(n)\n}\n}\n\n");

        if top {
            let fmin = if self.flexible.is_empty() {
                "None".to_string()
            } else {
                format!("Some({})", self.flexible.lo)
            };
            writeln!(
                o,
                "impl Message for {} {{\nconst NAME: &'static str = {:?};\nconst VERSIONS: VersionRange = VersionRange {{ min: {}, max: {} }};\nconst FIRST_FLEXIBLE_VERSION: Option<i16> = {fmin};\n}}\n",
                st.name, self.name, self.valid.lo, self.valid.hi
            )
            .unwrap();
            if self.kind == "request" {
                let api = self.name.trim_end_matches("Request");
                writeln!(
                    o,
                    "impl crate::messages::Request for {} {{\nconst API_KEY: crate::messages::ApiKey = crate::messages::ApiKey::{api};\ntype Response = super::{}_response::{api}Response;\n}}\n",
                    st.name,
                    snake(api)
                )
                .unwrap();
            }
        }

        // Random values for the round-trip property tests.
        writeln!(
            o,
            "#[cfg(test)]\nimpl crate::testing::Random for {} {{",
            st.name
        )
        .unwrap();
        o.push_str("fn random(g: &mut crate::testing::Gen, v: i16) -> Self {\nlet mut this = Self::default();\n");
        for f in &st.fields {
            let mut present = f.versions;
            if f.tag.is_some() {
                present = present.intersect(f.tagged).intersect(self.flexible);
            }
            let cond = present.cond(within);
            if cond == "false" {
                continue;
            }
            let value = if f.nullable.is_empty() || !f.ty.can_be_null() {
                f.ty.random()
            } else {
                format!(
                    "g.nullable({}, |g| {})",
                    f.nullable.cond(within),
                    f.ty.random()
                )
            };
            writeln!(o, "if {cond} {{ this.{} = {value}; }}", f.ident).unwrap();
        }
        if has_flex {
            let known: Vec<String> = st
                .fields
                .iter()
                .filter_map(|f| f.tag)
                .map(|t| t.to_string())
                .collect();
            writeln!(
                o,
                "if {flex_all} {{ this.unknown_tagged_fields = g.unknown_tagged_fields(&[{}]); }}",
                known.join(", ")
            )
            .unwrap();
        }
        o.push_str("this\n}\n}\n\n");
    }
}

fn tagged_sorted(st: &StructDef) -> Vec<&Field> {
    let mut v: Vec<&Field> = st.fields.iter().filter(|f| f.tag.is_some()).collect();
    v.sort_by_key(|f| f.tag);
    v
}

/// Condition under which a tagged field is written: in its versions and not default.
fn tagged_present(f: &Field, within: Range) -> String {
    let cond = f.versions.intersect(f.tagged).cond(within);
    let nd = format!("self.{} != {}", f.ident, default_expr(f));
    if cond == "true" {
        nd
    } else {
        format!("({cond}) && {nd}")
    }
}

fn is_option(f: &Field) -> bool {
    !f.nullable.is_empty() && f.ty.can_be_null()
}

fn rust_type(f: &Field) -> String {
    if is_option(f) {
        format!("Option<{}>", f.ty.rust())
    } else {
        f.ty.rust()
    }
}

fn read_field(f: &Field, flex: &str, within: Range) -> String {
    if !is_option(f) {
        return format!("{}?", f.ty.read(flex, &f.name));
    }
    let nc = f.nullable.cond(within);
    let nullable = format!("{}?", f.ty.read_nullable(flex, &f.name));
    match nc.as_str() {
        "true" => nullable,
        _ => format!(
            "if {nc} {{ {nullable} }} else {{ let (i, x) = {}?; (i, Some(x)) }}",
            f.ty.read(flex, &f.name)
        ),
    }
}

fn write_field(f: &Field, flex: &str, within: Range) -> String {
    let x = format!("self.{}", f.ident);
    if !is_option(f) {
        return f.ty.write(&format!("&{x}"), flex);
    }
    let nc = f.nullable.cond(within);
    let w = f.ty.write_nullable(&x, flex);
    if nc == "true" {
        w
    } else {
        format!(
            "if !({nc}) && {x}.is_none() {{ return Err(ProtocolError::UnexpectedNull {{ field: {:?}, version: v }}); }} {w}",
            f.name
        )
    }
}

fn size_field(f: &Field, flex: &str) -> String {
    let x = format!("self.{}", f.ident);
    if is_option(f) {
        f.ty.size_nullable(&x, flex)
    } else {
        f.ty.size(&format!("&{x}"), flex)
    }
}

/// What encode does when a field is not in the version: non-ignorable fields
/// must hold their default, as the Java client checks.
fn absent_check(f: &Field) -> String {
    if f.ignorable {
        return String::new();
    }
    format!(
        "if self.{} != {} {{ return Err(ProtocolError::FieldNotInVersion {{ field: {:?}, version: v }}); }}",
        f.ident,
        default_expr(f),
        f.name
    )
}

fn default_expr(f: &Field) -> String {
    let d = f.default.as_deref();
    let base = match &f.ty {
        Ty::Bool => match d.map(str::to_ascii_lowercase).as_deref() {
            Some("true") => "true".into(),
            _ => "false".into(),
        },
        Ty::Int8 | Ty::Int16 | Ty::Int32 | Ty::Int64 | Ty::Uint16 | Ty::Uint32 => match d {
            Some(s) if s.starts_with("0x") => format!("{s} as {}", f.ty.rust()),
            Some(s) if !s.is_empty() => s.to_string(),
            _ => "0".into(),
        },
        Ty::Float64 => match d {
            Some(s) if !s.is_empty() => format!("{:?}", s.parse::<f64>().unwrap_or(0.0)),
            _ => "0.0".into(),
        },
        Ty::Uuid => "Uuid::ZERO".into(),
        Ty::Str => match d {
            Some("null") => return "None".into(),
            Some(s) if !s.is_empty() => format!("StrBytes::from_static_str({s:?})"),
            _ => "StrBytes::default()".into(),
        },
        Ty::Bytes => match d {
            Some("null") => return "None".into(),
            _ => "Bytes::new()".into(),
        },
        Ty::Records => {
            if is_option(f) {
                return "None".into();
            }
            "Bytes::new()".into()
        }
        Ty::Array(_) => match d {
            Some("null") => return "None".into(),
            _ => format!(
                "Vec::<{}>::new()",
                match &f.ty {
                    Ty::Array(e) => e.rust(),
                    _ => unreachable!(),
                }
            ),
        },
        Ty::Struct(s) => match d {
            Some("null") => return "None".into(),
            _ => format!("{s}::default()"),
        },
    };
    if is_option(f) {
        format!("Some({base})")
    } else {
        base
    }
}

fn parse_fields(
    fields: Option<&Value>,
    structs: &mut Vec<StructDef>,
) -> Result<Vec<Field>, String> {
    let Some(Value::Array(fields)) = fields else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for f in fields {
        let s = |k: &str| f.get(k).and_then(Value::as_str).map(str::to_string);
        let name = s("name").ok_or("field without name")?;
        let ty = Ty::parse(&s("type").ok_or("field without type")?);
        let tag = f.get("tag").and_then(Value::as_u64).map(|t| t as u32);
        let default = match f.get("default") {
            Some(Value::String(v)) => Some(v.clone()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let field = Field {
            ident: ident(&snake(&name)),
            versions: Range::parse(&s("versions").ok_or_else(|| format!("{name}: no versions"))?)?,
            nullable: s("nullableVersions")
                .map(|r| Range::parse(&r))
                .transpose()?
                .unwrap_or(Range::NONE),
            tagged: s("taggedVersions")
                .map(|r| Range::parse(&r))
                .transpose()?
                .unwrap_or(Range::NONE),
            flexible_override: s("flexibleVersions")
                .map(|r| Range::parse(&r))
                .transpose()?,
            ignorable: f.get("ignorable").and_then(Value::as_bool).unwrap_or(false),
            about: s("about").unwrap_or_default(),
            tag,
            default,
            name,
            ty,
        };
        if f.get("fields").is_some() {
            let inner = match &field.ty {
                Ty::Array(e) => match &**e {
                    Ty::Struct(n) => n.clone(),
                    _ => return Err(format!("{}: fields on a non-struct array", field.name)),
                },
                Ty::Struct(n) => n.clone(),
                _ => return Err(format!("{}: fields on a primitive", field.name)),
            };
            let nested = parse_fields(f.get("fields"), structs)?;
            structs.push(StructDef {
                name: inner,
                about: field.about.clone(),
                fields: nested,
            });
        }
        out.push(field);
    }
    Ok(out)
}

/// A schema's `about` text as one doc line: brackets escaped, so rustdoc
/// does not read `Array[0]` as a link; `<` and `>` escaped, so it does not
/// read `<name>` as HTML.
fn doc(s: &str) -> String {
    s.trim()
        .replace('\n', " ")
        .replace("*/", "* /")
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `PascalCase` (with acronyms such as `ClientID`) to `snake_case`.
fn snake(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    for (n, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = n.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(n + 1);
            let boundary = match prev {
                None => false,
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|x| x.is_ascii_lowercase()),
                _ => false,
            };
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn ident(s: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn",
        "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
        "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
        "where", "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final",
        "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
    ];
    if KEYWORDS.contains(&s) {
        format!("r#{s}")
    } else {
        s.to_string()
    }
}

/// `generated/mod.rs`: the module list, the `ApiKey` enum and its tables, and
/// the request/response enums that dispatch on (api key, version).
fn render_mod(schemas: &[Schema]) -> Result<String, String> {
    let mut o = String::new();
    o.push_str(
        "//! Generated by `cargo xtask codegen` from Kafka's JSON message schemas. Do not edit.\n\
         #![allow(clippy::all)]\n\n\
         use bytes::{BufMut, Bytes};\n\n\
         use crate::messages::{Encodable, Message, VersionRange};\n\
         use crate::ProtocolError;\n\n",
    );
    for s in schemas {
        writeln!(o, "pub mod {};", s.module).unwrap();
    }
    for s in schemas {
        writeln!(o, "pub use {}::{};", s.module, s.name).unwrap();
    }

    let mut apis: Vec<(&Schema, &Schema)> = Vec::new();
    for req in schemas.iter().filter(|s| s.kind == "request") {
        let api = req.name.trim_end_matches("Request");
        let resp = schemas
            .iter()
            .find(|s| s.kind == "response" && s.name == format!("{api}Response"))
            .ok_or_else(|| format!("no response schema for {}", req.name))?;
        if req.api_key != resp.api_key || req.valid != resp.valid {
            return Err(format!(
                "{api}: request and response disagree on api key or versions"
            ));
        }
        apis.push((req, resp));
    }
    apis.sort_by_key(|(r, _)| r.api_key);
    for w in apis.windows(2) {
        if w[0].0.api_key == w[1].0.api_key {
            return Err(format!("api key {:?} used twice", w[0].0.api_key));
        }
    }
    let name = |r: &Schema| r.name.trim_end_matches("Request").to_string();

    o.push_str("\n/// The API keys of the schema set, with their version ranges.\n#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\n#[repr(i16)]\n#[non_exhaustive]\npub enum ApiKey {\n");
    for (r, _) in &apis {
        writeln!(
            o,
            "/// {} (key {}), versions {}.\n{} = {},",
            name(r),
            r.api_key.unwrap(),
            r.valid.describe(),
            name(r),
            r.api_key.unwrap()
        )
        .unwrap();
    }
    o.push_str("}\n\nimpl ApiKey {\n/// Every API key, in key order.\npub const ALL: &'static [ApiKey] = &[");
    for (r, _) in &apis {
        write!(o, "ApiKey::{}, ", name(r)).unwrap();
    }
    o.push_str("];\n\n/// The API key with this number.\npub fn from_i16(key: i16) -> Option<ApiKey> {\nmatch key {\n");
    for (r, _) in &apis {
        writeln!(o, "{} => Some(ApiKey::{}),", r.api_key.unwrap(), name(r)).unwrap();
    }
    o.push_str("_ => None,\n}\n}\n\n/// Kafka's name of the API.\npub fn name(self) -> &'static str {\nmatch self {\n");
    for (r, _) in &apis {
        writeln!(o, "ApiKey::{} => {:?},", name(r), name(r)).unwrap();
    }
    o.push_str("}\n}\n\n/// The versions this crate can encode and decode.\npub fn versions(self) -> VersionRange {\nmatch self {\n");
    for (r, _) in &apis {
        writeln!(o, "ApiKey::{} => {}::VERSIONS,", name(r), r.name).unwrap();
    }
    o.push_str("}\n}\n\n/// The first flexible version (compact encodings, tagged fields), if any.\npub fn first_flexible_version(self) -> Option<i16> {\nmatch self {\n");
    for (r, _) in &apis {
        writeln!(
            o,
            "ApiKey::{} => {}::FIRST_FLEXIBLE_VERSION,",
            name(r),
            r.name
        )
        .unwrap();
    }
    o.push_str("}\n}\n}\n\n");

    for (kind, pick) in [("Request", 0usize), ("Response", 1usize)] {
        writeln!(o, "/// Any {} body, for code that dispatches on the API key at run time.\n#[derive(Debug, Clone, PartialEq)]\n#[non_exhaustive]\npub enum {kind}Kind {{", kind.to_lowercase()).unwrap();
        for (r, s) in &apis {
            let t = if pick == 0 { &r.name } else { &s.name };
            writeln!(o, "/// {t}.\n{}({t}),", name(r)).unwrap();
        }
        writeln!(o, "}}\n\nimpl {kind}Kind {{\n/// The API key of this body.\npub fn api_key(&self) -> ApiKey {{\nmatch self {{").unwrap();
        for (r, _) in &apis {
            writeln!(o, "{kind}Kind::{n}(_) => ApiKey::{n},", n = name(r)).unwrap();
        }
        o.push_str("}\n}\n\n/// Decodes a body of `api_key` at `version`; the whole input must be consumed.\npub fn decode(api_key: ApiKey, version: i16, buf: &Bytes) -> Result<Self, ProtocolError> {\nOk(match api_key {\n");
        for (r, s) in &apis {
            let t = if pick == 0 { &r.name } else { &s.name };
            writeln!(
                o,
                "ApiKey::{} => {kind}Kind::{}({t}::decode(buf, version)?),",
                name(r),
                name(r)
            )
            .unwrap();
        }
        o.push_str("})\n}\n\n/// Encodes the body at `version`.\npub fn encode<B: BufMut>(&self, b: &mut B, version: i16) -> Result<(), ProtocolError> {\nmatch self {\n");
        for (r, _) in &apis {
            writeln!(
                o,
                "{kind}Kind::{}(m) => m.encode_checked(b, version),",
                name(r)
            )
            .unwrap();
        }
        o.push_str("}\n}\n\n/// The encoded size of the body at `version`.\npub fn encoded_size(&self, version: i16) -> Result<usize, ProtocolError> {\nmatch self {\n");
        for (r, _) in &apis {
            writeln!(o, "{kind}Kind::{}(m) => m.encoded_size(version),", name(r)).unwrap();
        }
        o.push_str("}\n}\n}\n\n");
    }

    // Round-trip property tests over every message and version.
    o.push_str("#[cfg(test)]\nmod roundtrip {\nuse super::*;\n\n");
    for s in schemas {
        writeln!(
            o,
            "#[test]\nfn {}() {{ crate::testing::check_roundtrip::<{}>(); }}",
            s.module, s.name
        )
        .unwrap();
    }
    o.push_str("}\n");
    Ok(o)
}
