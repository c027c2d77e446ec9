//! The gRPC ecosystem's own services, on our port: health checking (`grpc.health.v1`, what
//! Compose and Kubernetes probes and `grpc_health_probe` ask) and server reflection (what
//! `grpcurl` and `grpcui` list and call through), so standard tools need none of our protos.

use tonic::server::NamedService;
use tonic_health::{
    ServingStatus,
    pb::health_server::{Health, HealthServer},
    server::HealthReporter,
};

use super::{LenderServer, LenderService, admin::AdminServer, admin::AdminService};

/// Our protos as reflection serves them (written by build.rs).
const DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/lender_descriptors.bin"));

/// The contract's service as health checks name it (`lender.proto` has no package).
pub const LENDER_SERVICE: &str = <LenderServer<LenderService> as NamedService>::NAME;

/// Flips what the health service answers: the whole server ("") and each of our services.
#[derive(Clone)]
pub struct HealthSwitch(HealthReporter);

impl HealthSwitch {
    /// The health service, answering NOT_SERVING until [`HealthSwitch::serving`].
    pub async fn new() -> (Self, HealthServer<impl Health>) {
        let (reporter, service) = tonic_health::server::health_reporter();
        let switch = HealthSwitch(reporter);
        switch.set(ServingStatus::NotServing).await;
        (switch, service)
    }

    /// The job store is open and the workers run: calls are answered.
    pub async fn serving(&self) {
        self.set(ServingStatus::Serving).await;
    }

    /// Shutting down: probes see it before the port closes.
    pub async fn not_serving(&self) {
        self.set(ServingStatus::NotServing).await;
    }

    async fn set(&self, status: ServingStatus) {
        for service in ["", LENDER_SERVICE, AdminServer::<AdminService>::NAME] {
            self.0.set_service_status(service, status).await;
        }
    }
}

/// Reflection services (v1, and v1alpha for older clients) over our protos and the health
/// protocol's.
pub fn reflection() -> Result<
    (
        tonic_reflection::server::v1::ServerReflectionServer<
            impl tonic_reflection::server::v1::ServerReflection,
        >,
        tonic_reflection::server::v1alpha::ServerReflectionServer<
            impl tonic_reflection::server::v1alpha::ServerReflection,
        >,
    ),
    String,
> {
    let builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(DESCRIPTORS)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let failed = |e: tonic_reflection::server::Error| format!("gRPC reflection: {e}");
    Ok((
        builder().build_v1().map_err(failed)?,
        builder().build_v1alpha().map_err(failed)?,
    ))
}
