import { mount } from '../../shared/mount.js';
import { App } from './App.js';

mount(App);
