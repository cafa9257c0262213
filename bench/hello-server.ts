import express from 'express';

/**
 * The yardsticks: a bare express hello-world on the same machine, in its own process, and the
 * HTTP floor of a reward — the same express reading a reward's JSON body and answering 201 with a
 * reward-shaped JSON body, and nothing else (no auth, validation, database, Redis, logs or metrics).
 */
const app = express();
app.disable('x-powered-by');
app.get('/hello', (_req, res) => {
  res.json({ hello: 'world' });
});
let nextId = 0;
app.post('/floor', express.json(), (req, res) => {
  const body = req.body as { traceId?: string; audienceId?: number; liveRoomId?: number; amount?: string };
  nextId += 1;
  res.status(201).json({
    rechargeId: nextId,
    traceId: body.traceId,
    audienceId: body.audienceId,
    liveRoomId: body.liveRoomId,
    anchorId: 1,
    amount: body.amount,
    status: 'SUCCESS',
    createdAt: new Date().toISOString(),
  });
});
const server = app.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
