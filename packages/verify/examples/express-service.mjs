// The same service on Express.
//   LATCHKEY_URL=https://latchkey.example.com LATCHKEY_TOKEN=lk_pat_1… node express-service.mjs
import express from 'express';
import { createVerifier, latchkeyExpress } from '@latchkey/verify';

const verifier = createVerifier({ url: process.env.LATCHKEY_URL, token: process.env.LATCHKEY_TOKEN });
const app = express();

// Every route needs a valid token; req.latchkey says whose it is.
app.use(latchkeyExpress(verifier));
app.get('/whoami', (req, res) => res.json({ account: req.latchkey.accountId, token: req.latchkey.tokenId }));

// Deploys also need namespaces:write on the namespace in the path.
const deployer = latchkeyExpress(verifier, { scope: 'namespaces:write', namespace: (req) => req.params.name });
app.post('/ns/:name/deploy', deployer, (req, res) => res.json({ deployed: req.params.name, by: req.latchkey.accountId }));

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close(() => verifier.close()));
