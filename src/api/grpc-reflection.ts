/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha), analysed on first use.
 *
 * @grpc/reflection's ReflectionService walks the whole API package when it is constructed: ~0.1 s
 * of every server start, which runs before DNS binds (a big zone's restart budget is 5 s, issue 17),
 * for a service only tools like grpcurl call. So the two reflection services are registered at start
 * from their own protos (the definitions are all a server needs to route calls), and the first call
 * constructs the ReflectionService and hands the stream to the handler it registers (through a
 * stand-in server that only records handlers): the same answers, from the package's own code.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';

const require = createRequire(import.meta.url);
/** The reflection protos inside @grpc/reflection (where its own services load them from). */
const PROTO_DIR = join(dirname(require.resolve('@grpc/reflection')), '..', 'proto', 'grpc', 'reflection');
/** The options @grpc/reflection loads those protos with (its PROTO_LOADER_OPTS): the same message shapes. */
const PROTO_LOADER_OPTS: protoLoader.Options = { longs: String, enums: String, bytes: Array, defaults: true, oneofs: true };
const VERSIONS = ['v1', 'v1alpha'] as const;

type Handlers = Map<string, grpc.UntypedServiceImplementation>;

/** The ServerReflection service definition of one version, from its proto. */
function definition(version: (typeof VERSIONS)[number]): grpc.ServiceDefinition {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(join(PROTO_DIR, version, 'reflection.proto'), PROTO_LOADER_OPTS));
  const reflection = (pkg.grpc as grpc.GrpcObject).reflection as grpc.GrpcObject;
  return ((reflection[version] as grpc.GrpcObject).ServerReflection as grpc.ServiceClientConstructor).service;
}

/** The first method path of a definition: which version's service it is. */
const keyOf = (def: grpc.ServiceDefinition): string => Object.values(def)[0].path;

/** Registers both reflection services on `server` for `pkg`; the package is analysed at the first reflection call. */
export function addLazyReflection(server: grpc.Server, pkg: protoLoader.PackageDefinition): void {
  let handlers: Handlers | undefined;
  const real = (): Handlers => {
    if (!handlers) {
      const found: Handlers = new Map();
      const recorder = { addService: (def: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation) => found.set(keyOf(def), impl) };
      new ReflectionService(pkg).addToServer(recorder as unknown as Pick<grpc.Server, 'addService'> as grpc.Server);
      handlers = found;
    }
    return handlers;
  };
  for (const version of VERSIONS) {
    const def = definition(version);
    const key = keyOf(def);
    const impl: grpc.UntypedServiceImplementation = {};
    for (const method of Object.keys(def)) {
      impl[method] = ((call: { emit: (event: 'error', err: Partial<grpc.StatusObject>) => void }, callback?: unknown) => {
        let handler: ((call: unknown, callback?: unknown) => void) | undefined;
        try {
          handler = real().get(key)?.[method] as typeof handler;
        } catch (err) {
          call.emit('error', { code: grpc.status.INTERNAL, details: `gRPC reflection failed: ${(err as Error).message}` });
          return;
        }
        if (!handler) call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: `gRPC reflection: no ${method} handler for ${key}` });
        else handler(call, callback);
      }) as grpc.UntypedHandleCall;
    }
    server.addService(def, impl);
  }
}
