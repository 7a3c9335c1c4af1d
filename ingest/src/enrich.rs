//! Geo and ASN enrichment of source and destination addresses.
//! (Placeholder: enrichment lands with the MaxMind reader.)
