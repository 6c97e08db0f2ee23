//! A schema type (`int32`, `[]Foo`, `string`, ...) and the Rust it becomes:
//! its type, and the expressions that read, write and size it.

#[derive(Clone, Debug)]
pub(super) enum Ty {
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
    pub(super) fn parse(s: &str) -> Ty {
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

    pub(super) fn can_be_null(&self) -> bool {
        matches!(
            self,
            Ty::Str | Ty::Bytes | Ty::Records | Ty::Array(_) | Ty::Struct(_)
        )
    }

    /// The Rust type of a non-null value.
    pub(super) fn rust(&self) -> String {
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

    pub(super) fn fixed(&self) -> Option<(&'static str, usize)> {
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
    pub(super) fn read(&self, flex: &str, field: &str) -> String {
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
    pub(super) fn read_nullable(&self, flex: &str, field: &str) -> String {
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
    pub(super) fn write(&self, x: &str, flex: &str) -> String {
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
    pub(super) fn write_nullable(&self, x: &str, flex: &str) -> String {
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
    pub(super) fn size(&self, x: &str, flex: &str) -> String {
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

    pub(super) fn size_nullable(&self, x: &str, flex: &str) -> String {
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
    pub(super) fn random(&self) -> String {
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
