// The resource modules the emulator loads, in registration order.
import * as issues from './issues.js';
import * as pullrequests from './pullrequests.js';
import * as settings from './settings.js';

export const resourceModules = [pullrequests, issues, settings];
