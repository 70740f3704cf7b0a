// Process entry of the `lifeboat` command (bin/lifeboat.js runs the built copy).
import { main } from './main.js';

// The lock file pins an SDK that runs on Node 20; its "upgrade Node" notice is not the CLI user's to act on.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

process.exitCode = await main(process.argv.slice(2));
