//! The spatial core: H3 cells, polygons to cells, outlines, door ranges and auto-cut.
//! Plain functions over plain types (h3o and geo only), no actix and no diesel.

pub mod autocut;
pub mod cells;
pub mod edit;
pub mod overlap;
pub mod synthetic;
pub mod tiling;
