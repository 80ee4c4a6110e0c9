//! The notification policy: a pure function of events and time → OS notifications, each with a
//! reason. (Stub: to be completed — see issue 6.)
