/**
 * The management API's entry points for the server composition: the two listeners, the identity
 * providers, and the snapshot function the CLI reuses.
 */
export { startRest, type ApiOptions, type RestServer } from './rest.ts';
export { startGrpc, type GrpcServer } from './grpc.ts';
export { createMciasAuth, createDevAuth, McIasClient, StaticIdentityProvider, type IdentityProvider, type Identity } from './auth.ts';
export { createSnapshot, defaultBackupDir, type SnapshotResult } from './snapshot.ts';
export { ApiService } from './service.ts';
