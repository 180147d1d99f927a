// Each test file closes the database pools it opened, so workers exit cleanly.
import { closeDatabases } from '../../layers/db/pool';

afterAll(async () => {
  await closeDatabases();
});
