// A Fastify service that only Latchkey tokens get into.
//   LATCHKEY_URL=https://latchkey.example.com LATCHKEY_TOKEN=lk_pat_1… node fastify-service.mjs
import Fastify from 'fastify';
import { createVerifier, latchkeyFastify } from '@latchkey/verify';

const app = Fastify({ logger: true });
const verifier = createVerifier({
  url: process.env.LATCHKEY_URL,
  token: process.env.LATCHKEY_TOKEN, // a service account's token with the introspect scope
  onError: (error) => app.log.warn(error.message),
});

// Every route needs a valid token; request.latchkey says whose it is.
await app.register(latchkeyFastify(verifier));
app.get('/whoami', async (request) => ({ account: request.latchkey.accountId, token: request.latchkey.tokenId }));

// Deploys also need namespaces:write on the namespace in the path (preview-* admits preview-42).
await app.register(async (deploys) => {
  await deploys.register(latchkeyFastify(verifier, { scope: 'namespaces:write', namespace: (request) => request.params.name }));
  deploys.post('/ns/:name/deploy', async (request) => ({ deployed: request.params.name, by: request.latchkey.accountId }));
});

app.addHook('onClose', () => verifier.close());
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => app.close());
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
