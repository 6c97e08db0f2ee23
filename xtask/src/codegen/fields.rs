//! Per field: the Rust type, the read, write and size expressions, the
//! defaults and absence checks the generated code uses, and the schema's
//! field lists read into `Field`s.

use super::*;

pub(super) fn tagged_sorted(st: &StructDef) -> Vec<&Field> {
    let mut v: Vec<&Field> = st.fields.iter().filter(|f| f.tag.is_some()).collect();
    v.sort_by_key(|f| f.tag);
    v
}

/// Condition under which a tagged field is written: in its versions and not default.
pub(super) fn tagged_present(f: &Field, within: Range) -> String {
    let cond = f.versions.intersect(f.tagged).cond(within);
    let nd = format!("self.{} != {}", f.ident, default_expr(f));
    if cond == "true" {
        nd
    } else {
        format!("({cond}) && {nd}")
    }
}

pub(super) fn is_option(f: &Field) -> bool {
    !f.nullable.is_empty() && f.ty.can_be_null()
}

pub(super) fn rust_type(f: &Field) -> String {
    if is_option(f) {
        format!("Option<{}>", f.ty.rust())
    } else {
        f.ty.rust()
    }
}

pub(super) fn read_field(f: &Field, flex: &str, within: Range) -> String {
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

pub(super) fn write_field(f: &Field, flex: &str, within: Range) -> String {
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

pub(super) fn size_field(f: &Field, flex: &str) -> String {
    let x = format!("self.{}", f.ident);
    if is_option(f) {
        f.ty.size_nullable(&x, flex)
    } else {
        f.ty.size(&format!("&{x}"), flex)
    }
}

/// What encode does when a field is not in the version: non-ignorable fields
/// must hold their default, as the Java client checks.
pub(super) fn absent_check(f: &Field) -> String {
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

pub(super) fn default_expr(f: &Field) -> String {
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

pub(super) fn parse_fields(
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
pub(super) fn doc(s: &str) -> String {
    s.trim()
        .replace('\n', " ")
        .replace("*/", "* /")
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `PascalCase` (with acronyms such as `ClientID`) to `snake_case`.
pub(super) fn snake(s: &str) -> String {
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

pub(super) fn ident(s: &str) -> String {
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
