Console.Error.WriteLine("CyberCoop.Load: the end-to-end load tool is not built yet (performance issue).");
return 2;
