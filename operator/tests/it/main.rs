//! All integration tests in one binary (one link of kube/k8s-openapi instead of seven).

mod builders;
mod cli;
mod compat;
mod drift;
mod e2e_admin;
mod leader;
mod reconcile;
mod remote_admin;
mod schema;
