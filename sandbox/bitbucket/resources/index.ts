// The resource modules the emulator loads, in registration order.
import * as pullrequests from './pullrequests.js';
import * as settings from './settings.js';

export const resourceModules = [pullrequests, settings];
