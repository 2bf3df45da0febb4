//! Importers: parsers over bytes feeding a sink.
