/**
 * A real SMTP server on loopback for the notification tests (the `smtp-server` package as the
 * receiving MTA, `mailparser` to read what arrives). It asks for credentials, as a real relay
 * would, and can be stopped and started again on the same port to play an SMTP outage.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export const SMTP_USER = 'latchkey';
export const SMTP_PASSWORD = 'smtp-test-password';

export interface ReceivedEmail {
  /** Envelope recipients. */
  to: string[];
  from: string;
  parsed: ParsedMail;
  /** The message as it arrived, headers and MIME parts included. */
  raw: string;
}

export interface TestSmtpServer {
  /** `smtp://user:password@127.0.0.1:port` for SMTP_URL. */
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedEmail[];
  /** Waits (polling) until at least `count` messages arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedEmail[]>;
  /** Stops listening (connections are refused) until `start()`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startSmtpServer(options: { port?: number } = {}): Promise<TestSmtpServer> {
  const received: ReceivedEmail[] = [];
  let port = options.port ?? 0;
  let server: SMTPServer | undefined;

  const listen = async () => {
    const instance = new SMTPServer({
      // No TLS on loopback: nodemailer would otherwise upgrade and refuse the self-signed certificate.
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      logger: false,
      onAuth(auth, _session, callback) {
        if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) callback(null, { user: auth.username });
        else callback(new Error('Invalid username or password'));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          simpleParser(raw).then(
            (parsed) => {
              received.push({
                to: session.envelope.rcptTo.map((address) => address.address),
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                parsed,
                raw,
              });
              callback();
            },
            (error: Error) => callback(error),
          );
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      instance.once('error', reject);
      instance.listen(port, '127.0.0.1', () => resolve());
    });
    port = (instance.server.address() as AddressInfo).port;
    server = instance;
  };

  const stop = async () => {
    const instance = server;
    server = undefined;
    if (instance) await new Promise<void>((resolve) => instance.close(() => resolve()));
  };

  await listen();
  return {
    get url() {
      return `smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    received,
    async waitFor(count, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} emails, ${received.length} arrived`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      return received;
    },
    stop,
    start: listen,
    close: stop,
  };
}
