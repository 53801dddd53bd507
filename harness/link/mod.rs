//! Byte links to devices: real serial ports, pseudo-terminal pairs and in-memory fakes.
