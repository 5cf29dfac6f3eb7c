/** Process entry of the training container (see entrypoint.ts for the contracts). */
import { main } from './entrypoint.ts';

await main();
